"""The Beam pipeline end to end on the real emulators: Pub/Sub → DirectRunner (streaming) → DecodeEvents →
WriteToBigQueryArrow + WriteToLake, rejects → the rejects table; stopped once the table holds the valid rows. And
routed: four event types on one topic, each to its table and lake prefix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA
from streamlake_fast.local.mixed import MIXED_TYPES, mixed_events
from streamlake_fast.sinks.lake.verify import verify_lake
from tests.servers.beam import require_beam
from tests.servers.fixtures import Cloud
from tests.worker.helpers import expected_rows, publish_receipts, table_rows
from tests.worker.routes import check_routed, publish_mixed, routes_config

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


@pytest.mark.slow
def test_streaming_pipeline_routes_four_types_to_their_tables_and_prefixes(cloud: Cloud, tmp_path: Path) -> None:
    """`--config routes.toml` (`streamlake run`'s): a table created per route, a lake prefix per type, the unknown
    type's messages `no_route` dead letters — each valid event once."""
    topic, subscription = cloud.create_topic_and_subscription()
    events = mixed_events(2_000, invalid_fraction=0.01, unknown_fraction=0.01)
    ids = publish_mixed(cloud, topic, events)
    config, tables = routes_config(cloud, tmp_path, subscription)
    command = [sys.executable, "-m", "streamlake_fast.beam", "--config", str(config), "--max-batch-size", "500",
               "--max-batch-duration-secs", "1", "--runner", "DirectRunner"]  # fmt: skip
    want = {kind: sum(e.type == kind and e.valid for e in events) for kind in MIXED_TYPES}
    dead = sum(not e.valid for e in events)
    log = tmp_path / "pipeline.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, env={**os.environ, **cloud.env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while True:
            assert proc.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, log.read_text()[-5000:]
            time.sleep(2)
            landed = {k: _count(cloud, t) for k, t in tables.items() if t and _exists(cloud, t)}
            rejects = (tmp_path / "lake" / "_rejects").rglob("*.ndjson")
            dead_now = sum(len(p.read_text().splitlines()) for p in rejects)
            lake_rows = {k: _lake_rows(tmp_path / "lake" / k) for k in MIXED_TYPES}
            tables_done = all(landed.get(k) == want[k] for k, t in tables.items() if t)
            if tables_done and lake_rows == want and dead_now >= dead:
                break
        time.sleep(3)  # nothing more arrives (no duplicates written late)
    finally:
        proc.terminate()
        proc.wait(30)
    check_routed(cloud, tmp_path, tables, events, ids, exactly_once=True)


def _exists(cloud: Cloud, table: str) -> bool:
    from google.api_core.exceptions import NotFound

    try:
        cloud.bigquery().get_table(table)
    except NotFound:
        return False
    return True


def _lake_rows(root: Path) -> int:
    files = [p for p in root.rglob("*.parquet") if not p.name.startswith(".")] if root.exists() else []
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)
