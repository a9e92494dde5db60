"""Permanent errors on the real emulators: the worker stops with one line naming the cause, and hands back
what it holds — it never idles or retries forever."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlake_fast.local.generate import RECEIPT_SCHEMA
from tests.servers.fixtures import Cloud
from tests.worker.helpers import publish_receipts, pull_all, run_worker


def _schema(tmp_path: Path) -> str:
    path = tmp_path / "receipts.json"
    path.write_text(json.dumps(RECEIPT_SCHEMA))
    return str(path)


def _error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("streamlake: error: ")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def test_a_missing_subscription_stops_the_worker_within_seconds(pubsub_only: Cloud, tmp_path: Path) -> None:
    missing = pubsub_only.subscription("deleted")
    start = time.monotonic()
    done = run_worker(pubsub_only, "--subscription", missing, "--lake", str(tmp_path / "lake"), "--schema",
                      _schema(tmp_path), timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert time.monotonic() - start < 60
    line = _error_line(done.stderr)
    assert missing in line and "NOT_FOUND" in line


def test_a_missing_dead_letter_topic_stops_the_worker_and_acks_nothing(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription(ack_deadline=10)
    publish_receipts(pubsub_only, topic, 500, invalid_fraction=0.1)
    dlq = pubsub_only.topic("never-created")
    done = run_worker(pubsub_only, "--subscription", subscription, "--lake", str(tmp_path / "lake"), "--schema",
                      _schema(tmp_path), "--dead-letter-topic", dlq, timeout=180)  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    line = _error_line(done.stderr)
    assert dlq in line and "NOT_FOUND" in line
    assert not list((tmp_path / "lake").rglob("*.parquet"))  # nothing became durable, nothing was acknowledged
    assert len(pull_all(pubsub_only, subscription, idle_seconds=15)) == 500  # every message comes back
