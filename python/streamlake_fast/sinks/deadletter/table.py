"""Dead letters as rows of a BigQuery table (``<table>_rejects`` by default), created when missing."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

from streamlake_fast.codec.schema import Schema
from streamlake_fast.sinks.base import Refusal
from streamlake_fast.sinks.bigquery import BigQuerySink
from streamlake_fast.sinks.deadletter.record import CUT_MARK, DEAD_LETTER_FIELDS, DEAD_LETTER_SCHEMA
from streamlake_fast.transports.gcp.channels import bigquery_client
from streamlake_fast.transports.names import parse_table

__all__ = ["DeadLetterTable"]


class DeadLetterTable(BigQuerySink):
    """Append dead-letter records to a table with :data:`DEAD_LETTER_FIELDS` (created when missing), through the
    same Storage Write path as the rows."""

    def __init__(self, table: str, *, create: bool = True) -> None:
        project, dataset, name = parse_table(table)
        if create:
            from google.cloud import bigquery

            client = bigquery_client(project)
            fields = [bigquery.SchemaField.from_api_repr(f) for f in DEAD_LETTER_FIELDS]
            client.create_table(bigquery.Table(f"{project}.{dataset}.{name}", schema=fields), exists_ok=True)
        super().__init__(f"{project}.{dataset}.{name}", schema=DEAD_LETTER_SCHEMA)
        self._table_schema = Schema.from_bigquery(DEAD_LETTER_FIELDS).to_arrow()

    def write(self, batch: pa.RecordBatch) -> list[Refusal]:
        """Append the records (in the table's column types: REQUIRED where the record never holds a null). Raw
        data over :data:`MAX_DATA_BYTES` is cut, its size and sha256 added to ``message``, so the row fits a
        request."""
        if batch.num_rows and pc.max(pc.binary_length(batch.column("data"))).as_py() > MAX_DATA_BYTES:
            batch = _cut_large_data(batch)
        return super().write(pa.RecordBatch.from_arrays(batch.columns, schema=self._table_schema))


#: Raw data kept per dead-letter row: well under the 10 MB AppendRows request with the other columns.
MAX_DATA_BYTES = 1_000_000


def _cut_large_data(batch: pa.RecordBatch) -> pa.RecordBatch:
    data, messages = batch.column("data").to_pylist(), batch.column("message").to_pylist()
    for i, d in enumerate(data):
        if len(d) > MAX_DATA_BYTES:
            digest = hashlib.sha256(d).hexdigest()
            messages[i] += f" {CUT_MARK}{MAX_DATA_BYTES:,} of {len(d):,} bytes; sha256 {digest})"
            data[i] = d[:MAX_DATA_BYTES]
    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    columns |= {"data": pa.array(data, pa.binary()), "message": pa.array(messages, pa.string())}
    return pa.RecordBatch.from_arrays(list(columns.values()), schema=batch.schema)
