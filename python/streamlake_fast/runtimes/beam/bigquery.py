"""``WriteToBigQueryArrow``: Arrow batches appended through the Storage Write API by the worker's own sink —
no Java expansion service, no object per row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Literal

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from streamlake_fast.codec.messages import METADATA_SCHEMA
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.decode import NAMESPACE
from streamlake_fast.sinks.base import Refusal, select_columns
from streamlake_fast.sinks.bigquery import BigQuerySink
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.names import parse_table
from streamlake_fast.worker.fanout import SINK_RETRY

__all__ = ["WriteToBigQueryArrow", "refused_record"]

#: Transient failures are retried for up to this long inside the bundle; then the runner retries the bundle.
RETRY = replace(SINK_RETRY, deadline=300.0)


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


class _Append(beam.DoFn):  # type: ignore[misc]
    def __init__(self, table: str, mode: Literal["default", "committed"]) -> None:
        self._table = table
        self._mode = mode
        self._sink: BigQuerySink | None = None
        self._columns: pa.Schema | None = None
        self._fingerprint = ""
        self._rows = Metrics.counter(NAMESPACE, "bigquery_rows")
        self._refused = Metrics.counter(NAMESPACE, "bigquery_refused")

    def setup(self) -> None:
        from streamlake_fast.transports.gcp.tables import table_schema

        schema = table_schema(self._table)
        self._columns = schema.to_arrow()
        self._fingerprint = schema.fingerprint
        self._sink = BigQuerySink(self._table, mode=self._mode, schema=self._columns)

    def process(self, batch: pa.RecordBatch) -> Iterator[dict[str, Any]]:
        assert self._sink is not None and self._columns is not None
        rows = select_columns(batch, self._columns)
        sink = self._sink
        refused = RETRY.call(lambda: sink.write(rows), what=sink.name) or ()
        self._rows.inc(rows.num_rows - len(refused))
        for r in refused:
            self._refused.inc()
            yield refused_record(batch, r, table=self._table, fingerprint=self._fingerprint)

    def teardown(self) -> None:
        if self._sink is not None:
            self._sink.close()


class WriteToBigQueryArrow(beam.PTransform):  # type: ignore[misc]
    """Append :class:`~streamlake_fast.runtimes.beam.DecodeEvents`' batches to ``table`` (``project.dataset.table``)
    through the Storage Write API, taking the columns the table has (event fields and any metadata columns).

    Returns the rows BigQuery refused (e.g. a row over the 10 MB request limit) as dead-letter records, for the
    same dead-letter destination as the rejects. ``mode="default"`` appends to the ``_default`` stream
    (at-least-once); ``"committed"`` writes with offsets, so an append retried inside a bundle is not doubled.
    """

    def __init__(self, table: str, *, mode: Literal["default", "committed"] = "default") -> None:
        super().__init__()
        parse_table(table)
        if mode not in ("default", "committed"):
            raise ConfigError(f'mode must be "default" or "committed", got {mode!r}')
        self._table = table
        self._mode = mode

    def expand(self, batches: beam.PCollection) -> Any:
        return batches | "Append" >> beam.ParDo(_Append(self._table, self._mode))
