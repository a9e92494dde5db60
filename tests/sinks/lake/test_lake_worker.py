"""The lake behind the real Pub/Sub emulator (and bqemulator for fan-out): `streamlake run --lake`, kill -9 in the
middle of a file, and one ack for two sinks."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from streamlake_fast import Codec
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipt_schema
from streamlake_fast.sinks.bigquery import BigQuerySink
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.sinks.lake import LakeSink, lake_schema, verify_lake
from streamlake_fast.transports.gcp.pull import PubSubSource
from streamlake_fast.worker import Worker
from tests.servers.fixtures import Cloud
from tests.sinks.lake.helpers import read_lake, visible_files
from tests.worker.helpers import (
    Running,
    expected_rows,
    publish_receipts,
    pull_all,
    run_worker,
    table_rows,
)

EVENTS = int(os.environ.get("STREAMLAKE_LAKE_EVENTS", "20000"))


def _schema_file(tmp_path: Path) -> str:
    path = tmp_path / "receipts.json"
    path.write_text(json.dumps(RECEIPT_SCHEMA))
    return str(path)


def _event_ids(table: pa.Table) -> list[str]:
    return sorted(table.column("event_id").to_pylist())


def test_run_into_the_lake_holds_exactly_the_valid_events(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    pairs = publish_receipts(pubsub_only, topic, EVENTS)
    lake = tmp_path / "lake"
    done = run_worker(pubsub_only, "--subscription", subscription, "--lake", str(lake), "--schema",
                      _schema_file(tmp_path), "--partition-by", "event_time", "--max-rows", "5000")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lag = re.search(r"ack lag max ([\d,]+) ms", done.stderr)  # durable → acknowledged: the crash-duplicate window
    assert lag is not None and int(lag.group(1).replace(",", "")) >= 0, done.stderr[-1000:]

    want = expected_rows(pairs)
    got = read_lake(lake)
    assert _event_ids(got) == _event_ids(want)
    assert got.sort_by("event_id").select(want.column_names).equals(want)
    report = verify_lake(str(lake))
    assert report.duplicate_ids == 0 and report.rows == want.num_rows
    rejects = [line for f in (lake / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()]
    assert len(rejects) == EVENTS // 100
    assert pull_all(pubsub_only, subscription, idle_seconds=3) == []


@pytest.mark.slow  # ~25-40 s: run by make test-slow and CI
def test_kill_9_mid_file_leaves_no_partial_file_and_loses_nothing(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription(ack_deadline=10)
    pairs = publish_receipts(pubsub_only, topic, EVENTS)
    lake = tmp_path / "lake"
    args = ("--subscription", subscription, "--lake", str(lake), "--schema", _schema_file(tmp_path),
            "--max-rows", "2000")  # fmt: skip
    first = Running(pubsub_only, *args, "--max-file-age", "600")
    deadline = time.monotonic() + 120
    while not list(lake.rglob(".*.tmp")) or not any("[worker]" in line for line in first.lines):
        assert time.monotonic() < deadline and first.proc.poll() is None, "".join(first.lines[-20:])
        time.sleep(0.2)
    time.sleep(1.0)  # rows are being appended to the open file
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait()

    assert visible_files(lake) == []  # readers see nothing of the unfinished file
    assert list(lake.rglob(".*.parquet.tmp"))
    assert first.acked() == 0  # nothing was acknowledged: the file never became visible

    time.sleep(12)  # the killed worker's leases lapse
    done = run_worker(pubsub_only, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    report = verify_lake(str(lake))
    assert report.duplicate_ids == 0
    assert report.rows == EVENTS - EVENTS // 100
    assert report.temporary_files  # the killed writer's spool, reported, never read
    assert _event_ids(read_lake(lake)) == _event_ids(expected_rows(pairs))


def test_fan_out_acks_only_when_both_sinks_are_durable(cloud: Cloud, tmp_path: Path) -> None:
    n = 3000
    topic, subscription = cloud.create_topic_and_subscription()
    table = cloud.create_table(RECEIPT_SCHEMA)
    pairs = publish_receipts(cloud, topic, n)
    schema = receipt_schema()
    bigquery = BigQuerySink(table)
    lake = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()), max_file_age=600)
    source = PubSubSource(subscription)
    worker = Worker(source, [bigquery, lake], Codec(schema), dead_letter=DeadLetterFiles(str(tmp_path)),
                    progress_interval=60)  # fmt: skip
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while bigquery.rows_written < n - n // 100:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.2)
        time.sleep(2)
        # BigQuery has every row; the lake's file is still open, so nothing may be acknowledged yet.
        assert worker.stats.acked == 0
        assert worker.stats.awaiting_durable == n
        assert visible_files(tmp_path) == []
    finally:
        worker.stop()
        thread.join(120)
    assert worker.stats.acked == n  # stopping flushed the lake; then both were durable
    assert _event_ids(read_lake(tmp_path)) == _event_ids(expected_rows(pairs)) == _event_ids(table_rows(cloud, table))
    assert pull_all(cloud, subscription, idle_seconds=3) == []  # nothing comes back


def test_many_dates_under_a_low_file_descriptor_limit(pubsub_only: Cloud, tmp_path: Path) -> None:
    """400 receipts over 240 event dates, ``--partition-by event_time``, under ``ulimit -n 128``: the lake keeps
    at most 32 files open (was: one per date, "cannot create a file", exit 2, a crash loop), and every receipt
    lands once."""
    import resource
    import subprocess

    from streamlake_fast.local.generate import receipts
    from tests.worker.helpers import worker_command, worker_env

    topic, subscription = pubsub_only.create_topic_and_subscription()
    publisher = pubsub_only.publisher()
    ids = []
    for i, (data, _) in enumerate(receipts(400, seed=3, invalid_fraction=0.0)):
        event = json.loads(data)
        event["event_time"] = f"2026-{1 + (i % 240) // 28:02d}-{1 + (i % 240) % 28:02d}T12:00:00Z"
        ids.append(event["event_id"])
        publisher.publish(topic, json.dumps(event).encode())
    publisher.stop()
    lake = tmp_path / "lake"

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    command = worker_command(pubsub_only, "--exit-when-drained", "--subscription", subscription, "--lake", str(lake),
                             "--schema", _schema_file(tmp_path), "--partition-by", "event_time")  # fmt: skip
    done = subprocess.run(command, env=worker_env(pubsub_only), capture_output=True, text=True, timeout=300,
                          preexec_fn=low_limit)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert _event_ids(read_lake(lake)) == sorted(ids)
    report = verify_lake(str(lake))
    assert report.duplicate_ids == 0 and len(report.partitions) == 240
