"""``WriteToBigQueryArrow``: Arrow batches appended through the Storage Write API by the worker's own sink —
no Java expansion service, no object per row."""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator
from datetime import datetime, timezone
from typing import Any, Literal

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from streamlake_fast.codec.messages import METADATA_SCHEMA
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.messages import NAMESPACE, RETRY, Open
from streamlake_fast.runtimes.beam.routed import Destination
from streamlake_fast.sinks.base import Refusal, select_columns
from streamlake_fast.sinks.bigquery import BigQuerySink
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.names import parse_table

__all__ = ["WriteToBigQueryArrow", "refused_record"]


def refused_record(batch: pa.RecordBatch, refusal: Refusal, *, table: str, fingerprint: str) -> dict[str, Any]:
    """A row BigQuery refused as a dead-letter record: its metadata columns as they were, ``data`` the row's event
    columns as JSON (the original bytes are not in the batch), and BigQuery's reason."""
    row = batch.slice(refusal.row, 1).to_pylist()[0]
    meta = {n: row.pop(n) for n in METADATA_SCHEMA.names if n in row}
    record: dict[str, Any] = {
        "subscription_name": meta.get("subscription_name", ""),
        "message_id": meta.get("message_id", ""),
        "publish_time": meta.get("publish_time") or datetime.now(timezone.utc),
        "attributes": meta.get("attributes", "{}"),
        "data": json.dumps(row, default=str, ensure_ascii=False).encode(),
        "reason_code": refusal.code,
        "path": "",
        "message": f"{table}: {refusal.message}",
        "schema_fingerprint": fingerprint,
        "rejected_at": datetime.now(timezone.utc),
    }
    assert list(record) == DEAD_LETTER_SCHEMA.names
    return record


class _Table:
    """An open table: its sink, its columns and its schema's fingerprint."""

    def __init__(self, table: str, mode: Literal["default", "committed"]) -> None:
        from streamlake_fast.transports.gcp.tables import table_schema

        schema = table_schema(table)
        self.name = table
        self.columns = schema.to_arrow()
        self.fingerprint = schema.fingerprint
        self.sink = BigQuerySink(table, mode=mode, schema=self.columns)


class _Append(beam.DoFn):  # type: ignore[misc]
    def __init__(self, table: str | None, mode: Literal["default", "committed"], max_open: int) -> None:
        self._table = table
        self._mode = mode
        self._max_open = max_open
        self._tables: Open[_Table] | None = None
        self._rows = Metrics.counter(NAMESPACE, "bigquery_rows")
        self._refused = Metrics.counter(NAMESPACE, "bigquery_refused")

    def setup(self) -> None:
        self._tables = Open(self._open, lambda t: t.sink, self._max_open)
        if self._table is not None:
            self._tables.get(self._table)  # a missing table fails at start

    def _open(self, table: Hashable) -> _Table:
        assert isinstance(table, str)
        return _Table(table, self._mode)

    def process(self, element: Any) -> Iterator[Any]:
        assert self._tables is not None
        where: Destination | None = None
        if self._table is None:
            where, batch = element
            if not where.table:
                return
            table = self._tables.get(where.table)
        else:
            batch, table = element, self._tables.get(self._table)
        rows = select_columns(batch, table.columns)
        sink = table.sink
        refused = RETRY.call(lambda: sink.write(rows), what=sink.name) or ()
        self._rows.inc(rows.num_rows - len(refused))
        for r in refused:
            self._refused.inc()
            record = refused_record(batch, r, table=table.name, fingerprint=table.fingerprint)
            yield record if where is None else (where.dead_letter, record)

    def teardown(self) -> None:
        if self._tables is not None:
            self._tables.close()


class WriteToBigQueryArrow(beam.PTransform):  # type: ignore[misc]
    """Append :class:`~streamlake_fast.runtimes.beam.DecodeEvents`' batches to ``table`` (``project.dataset.table``)
    through the Storage Write API, taking the columns the table has (event fields and any metadata columns).

    Returns the rows BigQuery refused (e.g. a row over the 10 MB request limit) as dead-letter records, for the
    same dead-letter destination as the rejects. ``mode="default"`` appends to the ``_default`` stream
    (at-least-once); ``"committed"`` writes with offsets, so an append retried inside a bundle is not doubled.

    Without ``table``, the input is routed :class:`DecodeEvents`' ``(Destination, RecordBatch)`` pairs: each batch
    goes to its destination's table (none: skipped), ``max_open`` write streams open at most per worker (the least
    recently used closed first), and the refused rows come out as ``(DeadLetter, record)`` pairs.
    """

    def __init__(
        self, table: str | None = None, *, mode: Literal["default", "committed"] = "default", max_open: int = 64
    ) -> None:
        super().__init__()
        if table is not None:
            parse_table(table)
        if mode not in ("default", "committed"):
            raise ConfigError(f'mode must be "default" or "committed", got {mode!r}')
        if max_open < 1:
            raise ConfigError(f"max_open must be ≥ 1, got {max_open}")
        self._table = table
        self._mode = mode
        self._max_open = max_open

    def expand(self, batches: beam.PCollection) -> Any:
        return batches | "Append" >> beam.ParDo(_Append(self._table, self._mode, self._max_open))
