"""The StreamingPull source on the real emulator: messages arrive down the stream as raw responses, acknowledged
ones do not come back, held ones keep their lease, a stream the service ends is opened again, a missing
subscription stops the source with its status; and the worker drains a subscription through it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from streamlake_fast import Delivery
from streamlake_fast.exceptions import SourceError
from streamlake_fast.local.generate import RECEIPT_SCHEMA
from streamlake_fast.sources.delivery import ack_all
from streamlake_fast.transports.gcp.streaming import StreamingPubSubSource
from tests.servers.fixtures import Cloud
from tests.transports.gcp.test_pull import _collect, _publish
from tests.worker.helpers import publish_receipts, run_worker


def _data(deliveries: list[Delivery]) -> list[bytes]:
    return [d.messages.message(i).data for d in deliveries for i in range(len(d))]


def test_messages_stream_in_keep_their_lease_and_are_acknowledged(pubsub_only: Cloud) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription(ack_deadline=10)
    _publish(pubsub_only, topic, 300)
    source = StreamingPubSubSource(subscription, ack_deadline=10, pull_timeout=2)
    source.start()
    try:
        first = _collect(source, 5)
        assert sorted(_data(first)) == sorted(b'{"n": %d}' % i for i in range(300))
        assert _collect(source, 14) == []  # past the 10 s deadline: the leases were extended
        ack_all(first)
        opened = source.streams_opened
        for call in list(source._calls):  # the service ends a stream now and then: here, the test does
            call.cancel()
        deadline = time.monotonic() + 10
        while source.streams_opened == opened:
            assert time.monotonic() < deadline, "the cancelled stream was not opened again"
            time.sleep(0.05)
        # The emulator hands messages published while a cancelled stream is still open to that dead session, which
        # keeps them (the README's limits): publish once the new stream has had a moment to start.
        time.sleep(1)
        _publish(pubsub_only, topic, 5)
        again = _collect(source, 16)
        assert sorted(set(_data(again))) == sorted(b'{"n": %d}' % i for i in range(5))  # only the new ones
        assert source.streams_opened >= 2
        ack_all(again)
    finally:
        source.stop()


def test_a_missing_subscription_stops_the_source_with_its_status(pubsub_only: Cloud) -> None:
    source = StreamingPubSubSource(pubsub_only.subscription("never-created"), pull_timeout=1)
    source.start()
    try:
        with pytest.raises(SourceError, match="NOT_FOUND"):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                source.get(0.5)
    finally:
        source.stop()


def test_the_worker_drains_a_subscription_over_streaming_pull(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    pairs = publish_receipts(pubsub_only, topic, 2000, seed=21)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    lake = tmp_path / "lake"
    done = run_worker(pubsub_only, "--subscription", subscription, "--receive", "streaming", "--lake", str(lake),
                      "--partition-by", "event_time", "--schema", str(schema))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    landed = ds.dataset(lake, format="parquet", partitioning="hive").to_table().column("event_id").to_pylist()
    assert sorted(landed) == sorted(json.loads(m)["event_id"] for m, kind in pairs if kind is None)
    assert "events 2,000 " in done.stderr
