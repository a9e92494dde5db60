"""The Iceberg sink on the other catalogs and stores: two worker processes committing to one table through a
PostgreSQL-backed SQL catalog (every row once, the lost races retried), and the warehouse on moto's S3."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from streamlake_fast.local.generate import receipt_batches, receipt_schema
from streamlake_fast.sinks.iceberg import IcebergSink, open_catalog
from streamlake_fast.sinks.lake import lake_schema
from tests.servers.aws import s3_server  # noqa: F401 (fixture)
from tests.servers.postgres import Postgres, postgres  # noqa: F401 (fixture)
from tests.sinks.iceberg.helpers import PUBLISHED
from tests.sinks.lake.helpers import lake_batch

COMMITS = 15
ROWS = 40


def _writer(url: str, warehouse: str, first: int, results: Any) -> None:
    """One worker: COMMITS commits of ROWS receipts each, message ids from ``first``."""
    schema = receipt_schema()
    sink = IcebergSink("shop.receipts", catalog=url, warehouse=warehouse, schema=lake_schema(schema.to_arrow()),
                       partition_by="event_time")  # fmt: skip
    batches = list(receipt_batches(COMMITS * ROWS, ROWS, seed=first, invalid_fraction=0))
    for i, batch in enumerate(batches):
        sink.write(lake_batch(schema, batch, first + i * ROWS, PUBLISHED))
        sink.flush()
    results.put((sink.commits, sink.commit_retries))


def test_two_workers_commit_to_one_table_through_postgresql(postgres: Postgres, tmp_path: Path) -> None:  # noqa: F811
    warehouse = str(tmp_path / "wh")
    open_catalog(postgres.url, warehouse=warehouse).create_namespace("shop")
    IcebergSink("shop.receipts", catalog=postgres.url, warehouse=warehouse,
                schema=lake_schema(receipt_schema().to_arrow()), partition_by="event_time").close()  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    workers = [ctx.Process(target=_writer, args=(postgres.url, warehouse, first, results)) for first in (0, 10**6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    outcomes = [results.get(timeout=10) for _ in workers]
    assert [commits for commits, _ in outcomes] == [COMMITS, COMMITS]
    table = open_catalog(postgres.url, warehouse=warehouse).load_table("shop.receipts")
    ids = table.scan().to_arrow().column("message_id").to_pylist()
    assert len(ids) == len(set(ids)) == 2 * COMMITS * ROWS
    assert len(table.snapshots()) == 2 * COMMITS  # each commit once, the lost races retried on the new metadata


def test_the_warehouse_on_s3(s3_server: str, tmp_path: Path) -> None:  # noqa: F811
    schema = receipt_schema()
    sink = IcebergSink("shop.receipts", catalog=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=f"{s3_server}/wh",
                       schema=lake_schema(schema.to_arrow()), partition_by="event_time")  # fmt: skip
    (batch,) = receipt_batches(300, 300, seed=2, invalid_fraction=0)
    sink.write(lake_batch(schema, batch, 0, PUBLISHED))
    sink.flush()
    table = sink.catalog.load_table("shop.receipts")
    assert table.location().startswith(f"{s3_server}/wh/")
    rows = table.scan().to_arrow()
    assert rows.num_rows == 300 and len(set(rows.column("message_id").to_pylist())) == 300
    (task,) = table.scan().plan_files()
    assert task.file.file_path.startswith(f"{table.location()}/data/")
