"""Dead letters as rows of a BigQuery table (``<table>_rejects`` by default), created when missing."""

from __future__ import annotations

import pyarrow as pa

from streamlake_fast.endpoints import bigquery_client
from streamlake_fast.names import parse_table
from streamlake_fast.schema import Schema
from streamlake_fast.sinks.bigquery import BigQuerySink
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_FIELDS, DEAD_LETTER_SCHEMA

__all__ = ["DeadLetterTable"]


class DeadLetterTable:
    """Append dead-letter records to a table with :data:`DEAD_LETTER_FIELDS` (created when missing)."""

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, table: str, *, create: bool = True, sink: BigQuerySink | None = None) -> None:
        project, dataset, name = parse_table(table)
        self.name = f"bigquery:{project}.{dataset}.{name}"
        if create:
            from google.cloud import bigquery

            client = bigquery_client(project)
            fields = [bigquery.SchemaField.from_api_repr(f) for f in DEAD_LETTER_FIELDS]
            client.create_table(bigquery.Table(f"{project}.{dataset}.{name}", schema=fields), exists_ok=True)
        self._sink = sink or BigQuerySink(f"{project}.{dataset}.{name}")
        self._table_schema = Schema.from_bigquery(DEAD_LETTER_FIELDS).to_arrow()

    @property
    def rows_written(self) -> int:
        return self._sink.rows_written

    @property
    def durable_batches(self) -> int:
        return self._sink.durable_batches

    def write(self, batch: pa.RecordBatch) -> None:
        self._sink.write(pa.RecordBatch.from_arrays(batch.columns, schema=self._table_schema))

    def poll(self) -> None:
        self._sink.poll()

    def flush(self) -> None:
        self._sink.flush()

    def close(self) -> None:
        self._sink.close()
