"""A worker dies after its rows became durable and before it acknowledged them (deterministically: at its second
acknowledgement); the next worker gets those messages again and writes each event once — into the Parquet lake
and into an Iceberg table — on the real Pub/Sub emulator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from streamlake_fast.local.generate import RECEIPT_SCHEMA
from streamlake_fast.sinks.iceberg import open_catalog
from streamlake_fast.sinks.lake import verify_lake
from tests.servers.fixtures import Cloud
from tests.worker.helpers import publish_receipts, run_worker, worker_env

EVENTS = 4_000
CRASH = Path(__file__).with_name("crash_before_ack.py")


def _destination(kind: str, tmp_path: Path) -> tuple[str, ...]:
    if kind == "lake":
        return ("--lake", str(tmp_path / "lake"), "--max-file-age", "0.2")
    return ("--iceberg-table", "shop.receipts", "--catalog", f"sqlite:///{tmp_path}/catalog.db", "--warehouse",
            str(tmp_path / "wh"), "--commit-interval", "0.2")  # fmt: skip


def _counts(kind: str, tmp_path: Path) -> Counter[str]:
    if kind == "lake":
        report = verify_lake(str(tmp_path / "lake"))
        assert report.duplicate_ids == 0, report.duplicate_examples
        return Counter({str(i): 1 for i in range(report.rows)})
    table = open_catalog(f"sqlite:///{tmp_path}/catalog.db", warehouse=str(tmp_path / "wh")).load_table(
        "shop.receipts")  # fmt: skip
    return Counter(table.scan().to_arrow().column("message_id").to_pylist())


@pytest.mark.slow  # ~25 s each: the dead worker's leases lapse before the restart
@pytest.mark.parametrize("kind", ["lake", "iceberg"])
def test_a_crash_between_durable_and_acknowledged_writes_nothing_twice(kind: str, pubsub_only: Cloud,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    topic, subscription = pubsub_only.create_topic_and_subscription(ack_deadline=10)
    publish_receipts(pubsub_only, topic, EVENTS)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    args = ("run", "--subscription", subscription, "--schema", str(schema), "--max-rows", "500",
            "--progress-interval", "1", *_destination(kind, tmp_path))  # fmt: skip
    died = subprocess.run([sys.executable, str(CRASH), "2", *args], env=worker_env(pubsub_only),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert died.returncode == 137, died.stderr[-3000:]
    durable = sum(_counts(kind, tmp_path).values())
    assert durable > 0  # rows were durable, and some of their messages never acknowledged
    time.sleep(12)  # the dead worker's leases lapse: its messages come back
    done = run_worker(pubsub_only, *args[1:])
    assert done.returncode == 0, done.stderr[-3000:]
    skipped = re.search(r"redelivered rows skipped ([\d,]+)", done.stderr)
    assert skipped and int(skipped[1].replace(",", "")) > 0, done.stderr[-2000:]  # the summary says so
    counts = _counts(kind, tmp_path)
    assert sum(counts.values()) == EVENTS - EVENTS // 100, "missing rows"
    assert [i for i, n in counts.items() if n > 1] == [], "duplicates"
