"""Helpers for lake tests: a worker over an in-process source, and reading a lake back."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.local.generate import receipt_schema
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.sinks.lake import LAKE_COLUMNS, LakeSink, lake_schema
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


def lake_batch(schema: Schema, messages: list[bytes], first_id: int, publish_us: int) -> pa.RecordBatch:
    """Valid decoded rows plus ``message_id``/``publish_time``, as the worker hands them to the lake sink."""
    received = Messages.from_data(messages, first_id=first_id, publish_time_us=publish_us)
    metadata = [c for c in LAKE_COLUMNS if c not in schema.names]  # as the worker does: event fields win
    batch = Codec(schema).decode(received, metadata=metadata).batch
    assert batch.schema.equals(lake_schema(schema.to_arrow()))
    return batch
