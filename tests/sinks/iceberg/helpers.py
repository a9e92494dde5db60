"""What the Iceberg tests share: a sink on a SQLite catalog under ``tmp_path``, receipts, a clock tests move."""

from __future__ import annotations

from pathlib import Path

from streamlake_fast import Schema
from streamlake_fast.local.generate import receipt_batches
from streamlake_fast.sinks.iceberg import IcebergSink
from streamlake_fast.sinks.lake import lake_schema

PUBLISHED = 1_764_000_000_000_000  # 2025-11-24


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def iceberg_sink(tmp_path: Path, schema: Schema, **options: object) -> IcebergSink:
    return IcebergSink("shop.events", catalog=f"sqlite:///{tmp_path}/catalog.db", warehouse=str(tmp_path / "wh"),
                       schema=lake_schema(schema.to_arrow()), **options)  # type: ignore[arg-type]  # fmt: skip


def receipts_of(n: int) -> list[bytes]:
    (batch,) = receipt_batches(n, n, seed=5, invalid_fraction=0)
    return list(batch)
