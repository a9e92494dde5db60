"""Helpers for lake tests: a worker over an in-process source, and reading a lake back."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from streamlake_fast import Codec, Schema
from streamlake_fast.generate import receipt_schema
from streamlake_fast.lake import LakeSink, lake_schema
from streamlake_fast.sinks.deadletter_files import DeadLetterFiles
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker import Worker, WorkerStats


def run_lake_worker(
    root: Path, batches: list[list[bytes]], schema: Schema | None = None, **lake_options: object
) -> tuple[WorkerStats, LakeSink, MemorySource]:
    schema = schema or receipt_schema()
    sink = LakeSink(str(root), schema=lake_schema(schema.to_arrow()), **lake_options)  # type: ignore[arg-type]
    source = MemorySource(batches)
    worker = Worker(source, [sink], Codec(schema), dead_letter=DeadLetterFiles(str(root)), exit_when_drained=True,
                    progress_interval=60)  # fmt: skip
    return worker.run(), sink, source


def read_lake(root: Path | str, schema: pa.Schema | None = None) -> pa.Table:
    return ds.dataset(str(root), format="parquet", partitioning="hive", schema=schema).to_table()


def visible_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith("."))
