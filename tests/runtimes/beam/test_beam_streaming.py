"""The Beam pipeline end to end on the real emulators: Pub/Sub → DirectRunner (streaming) → DecodeEvents →
WriteToBigQueryArrow + WriteToLake, rejects → the rejects table; stopped once the table holds the valid rows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA
from streamlake_fast.sinks.lake.verify import verify_lake
from tests.servers.beam import require_beam
from tests.servers.fixtures import Cloud
from tests.worker.helpers import expected_rows, publish_receipts, table_rows

require_beam()

EVENTS = int(os.environ.get("STREAMLAKE_BEAM_EVENTS", "20000"))
COMPARED = ["event_id", "event_time", "customer_id", "store_id", "currency", "total", "coupon", "items"]


def _count(cloud: Cloud, table: str) -> int:
    return int(next(iter(cloud.bigquery().query(f"SELECT COUNT(*) AS n FROM `{table}`").result())).n)


def _first_difference(got: pa.Table, want: pa.Table) -> str | None:
    a = got.select(COMPARED).sort_by("event_id").to_pylist()
    b = want.select(COMPARED).sort_by("event_id").to_pylist()
    if len(a) != len(b):
        return f"{len(a)} rows, expected {len(b)}"
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
    return None if i is None else f"row {i}: {a[i]} != {b[i]}"


@pytest.mark.slow
def test_streaming_pipeline_lands_every_valid_event_once(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    table = cloud.create_table(RECEIPT_SCHEMA)
    lake = tmp_path / "lake"
    pairs = publish_receipts(cloud, topic, EVENTS, invalid_fraction=0.01)
    want = expected_rows(pairs)
    invalid = sum(1 for _, kind in pairs if kind)

    command = [sys.executable, "-m", "streamlake_fast.beam", "--subscription", subscription, "--table", table,
               "--lake", str(lake), "--max-batch-size", "5000", "--max-batch-duration-secs", "1",
               "--runner", "DirectRunner"]  # fmt: skip
    log = tmp_path / "pipeline.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, env={**os.environ, **cloud.env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        rows = rejects = 0
        while rows < want.num_rows or rejects < invalid:
            assert proc.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, f"{rows} rows, {rejects} rejects\n" + log.read_text()[-5000:]
            time.sleep(2)
            rows = _count(cloud, table)
            rejects = _count(cloud, f"{table}_rejects") if rows else 0
        time.sleep(3)  # nothing more arrives (no duplicates written late)
    finally:
        proc.terminate()
        proc.wait(30)

    landed = table_rows(cloud, table)
    assert _first_difference(landed, want) is None, _first_difference(landed, want)

    files = ds.dataset(str(lake), format="parquet", partitioning="hive", exclude_invalid_files=True)
    in_lake = files.to_table()
    assert _first_difference(in_lake, want) is None, _first_difference(in_lake, want)
    report = verify_lake(str(lake))
    assert report.rows == want.num_rows and report.duplicate_ids == 0

    dead = table_rows(cloud, f"{table}_rejects").to_pylist()
    bad = {data: kind for data, kind in pairs if kind}
    assert len(dead) == len(bad)
    for record in dead:
        assert record["reason_code"] == INVALID_KINDS[bad[record["data"]]]
        assert record["subscription_name"] == subscription and record["message_id"]
        assert '"source": "test"' in record["attributes"] or '"source":"test"' in record["attributes"]
