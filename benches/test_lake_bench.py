"""Lake sink throughput: decoded receipt batches → zstd Parquet under day partitions, against pyarrow.dataset's
and DuckDB's partitioned writers on the same rows (one thread each; files made visible whole in every case), and
the same rows committed to an Iceberg table.

Run: ``make bench`` (1,000,000 receipts); CI runs it once on a small set with timing disabled as a smoke test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import SUMMARY, Row

from streamlake_fast import Codec, Messages
from streamlake_fast.local.generate import receipt_schema, receipts
from streamlake_fast.sinks.lake import LAKE_COLUMNS, LakeSink

EVENTS = int(os.environ.get("STREAMLAKE_BENCH_EVENTS", "1000000"))
BATCH = 50_000


@pytest.fixture(scope="module")
def batches() -> list[pa.RecordBatch]:
    """The worker's batches as the lake sink receives them: event columns + message_id + publish_time, built by
    the worker's own call (one decode that fills the metadata columns)."""
    codec = Codec(receipt_schema())
    messages = [m for m, _ in receipts(EVENTS, seed=5)]
    received = [
        Messages.from_data(messages[start : start + BATCH], first_id=start + 1, publish_time_us=1_795_000_000_000_000)
        for start in range(0, EVENTS, BATCH)
    ]
    return [codec.decode(m, metadata=LAKE_COLUMNS).batch for m in received]


def _run(benchmark: Any, name: str, write: Callable[[Path], None], batches: list[pa.RecordBatch]) -> None:
    roots: list[Path] = []

    def once() -> None:
        root = Path(tempfile.mkdtemp(prefix="lake-bench-"))
        roots.append(root)
        write(root)

    rounds = 3 if benchmark.enabled else 1
    benchmark.pedantic(once, rounds=rounds, iterations=1)
    stats = getattr(benchmark, "stats", None)
    seconds = (stats.stats.min, stats.stats.median) if stats else None
    files = [p for p in roots[-1].rglob("*.parquet") if not p.name.startswith(".")]
    nbytes = sum(p.stat().st_size for p in files)
    table = ds.dataset([str(p) for p in files], format="parquet").to_table()
    assert table.num_rows == EVENTS
    assert sorted(table.column("event_id").to_pylist()) == sorted(
        pa.concat_arrays([b.column("event_id") for b in batches]).to_pylist()
    )
    benchmark.extra_info["parquet_bytes_per_event"] = nbytes / EVENTS
    SUMMARY.lake.append(Row("lake", name, seconds, EVENTS, f"{nbytes / EVENTS:.1f}"))
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


def test_lake_sink(benchmark: Any, batches: list[pa.RecordBatch]) -> None:
    def write(root: Path) -> None:
        sink = LakeSink(str(root), schema=batches[0].schema, partition_by="event_time")
        for b in batches:
            sink.write(b)
        sink.flush()
        sink.close()

    _run(benchmark, "streamlake_fast LakeSink (fsync + rename per file)", write, batches)


def test_iceberg_sink(benchmark: Any, batches: list[pa.RecordBatch]) -> None:
    """The same rows into an Iceberg table (SQLite catalog, warehouse on disk): the lake's writer plus a commit
    every two batches (100,000 rows: 2 s of a 50,000 events/s stream), maintenance off."""
    from streamlake_fast.sinks.iceberg import IcebergSink

    def write(root: Path) -> None:
        sink = IcebergSink("bench.receipts", catalog=f"sqlite:///{root}/catalog.db", warehouse=str(root / "wh"),
                           schema=batches[0].schema, partition_by="event_time", maintenance=None)  # fmt: skip
        for i, b in enumerate(batches):
            sink.write(b)
            if i % 2:
                sink.flush()
        sink.flush()
        sink.close()

    _run(benchmark, "streamlake_fast IcebergSink (a commit per 100,000 rows)", write, batches)


def _with_day(batches: list[pa.RecordBatch]) -> pa.Table:
    table = pa.Table.from_batches(batches)
    day = pc.strftime(pc.cast(table.column("event_time"), pa.date32()), format="%Y-%m-%d")
    return table.append_column("dt", day)


def test_pyarrow_dataset(benchmark: Any, batches: list[pa.RecordBatch]) -> None:
    def write(root: Path) -> None:
        table = _with_day(batches)
        ds.write_dataset(table, str(root), format="parquet", partitioning=["dt"], partitioning_flavor="hive",
                         file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
                         use_threads=False, existing_data_behavior="overwrite_or_ignore")  # fmt: skip

    _run(benchmark, "pyarrow.dataset.write_dataset (1 thread)", write, batches)


def test_duckdb_copy(benchmark: Any, batches: list[pa.RecordBatch]) -> None:
    def write(root: Path) -> None:
        con = duckdb.connect()
        con.execute("SET threads = 1")
        con.register("receipts", _with_day(batches))
        con.execute(
            f"COPY receipts TO '{root}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd, OVERWRITE_OR_IGNORE)"
        )
        con.close()

    _run(benchmark, "DuckDB COPY ... PARTITION_BY (1 thread)", write, batches)
