"""`streamlake run --iceberg-table` behind the real Pub/Sub emulator, a SQLite catalog and a warehouse on disk:
every valid receipt once, the rejects beside the warehouse; kill -9 in mid-run, restarted: none missing, none twice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from streamlake_fast.local.generate import RECEIPT_SCHEMA
from streamlake_fast.sinks.iceberg import open_catalog
from tests.servers.fixtures import Cloud
from tests.worker.helpers import kill_mid_run, publish_receipts, pull_all, run_worker

EVENTS = 3_000


def _args(tmp_path: Path, subscription: str) -> tuple[str, ...]:
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    return ("--subscription", subscription, "--iceberg-table", "shop.receipts", "--catalog",
            f"sqlite:///{tmp_path}/catalog.db", "--warehouse", str(tmp_path / "wh"), "--schema", str(schema),
            "--partition-by", "event_time", "--commit-interval", "1", "--max-rows", "500")  # fmt: skip


def _message_ids(tmp_path: Path) -> Counter[str]:
    table = open_catalog(f"sqlite:///{tmp_path}/catalog.db", warehouse=str(tmp_path / "wh")).load_table(
        "shop.receipts")  # fmt: skip
    return Counter(table.scan().to_arrow().column("message_id").to_pylist())


def test_run_lands_every_valid_receipt_once_in_the_table(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    publish_receipts(pubsub_only, topic, EVENTS)
    done = run_worker(pubsub_only, *_args(tmp_path, subscription))
    assert done.returncode == 0, done.stderr[-3000:]
    ids = _message_ids(tmp_path)
    assert len(ids) == EVENTS - EVENTS // 100 and set(ids.values()) == {1}
    dead = [line for f in (tmp_path / "wh" / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()]
    assert len(dead) == EVENTS // 100
    assert pull_all(pubsub_only, subscription, idle_seconds=3) == []


@pytest.mark.slow  # three kills, each waiting for the killed worker's leases to lapse
def test_kill_9_three_times_loses_nothing_and_writes_nothing_twice(pubsub_only: Cloud, tmp_path: Path) -> None:
    events = 30_000
    topic, subscription = pubsub_only.create_topic_and_subscription(ack_deadline=10)
    args = _args(tmp_path, subscription)
    kill_mid_run(pubsub_only, topic, args, events, kills=3)  # a worker drains 10,000 in a few seconds
    done = run_worker(pubsub_only, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    ids = _message_ids(tmp_path)
    assert len(ids) == events - events // 100, "missing rows"
    assert [i for i, n in ids.items() if n > 1] == [], "duplicates"
