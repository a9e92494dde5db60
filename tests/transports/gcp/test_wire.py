"""BigQuery append requests written as bytes read back as the client library's own messages."""

from __future__ import annotations

import pyarrow as pa
import pytest
from google.cloud.bigquery_storage_v1 import types

from streamlake_fast import Codec, Schema
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.transports.gcp.wire import append_rows_request

STREAM = "projects/p/datasets/d/tables/t/streams/_default"


@pytest.mark.parametrize("offset", [None, 0, 12_345_678_901])
def test_an_append_request_is_the_message_the_client_would_send(offset: int | None) -> None:
    batch = Codec(Schema.from_bigquery(RECEIPT_SCHEMA)).decode([m for m, _ in receipts(300)]).batch
    schema = batch.schema.serialize().to_pybytes()
    request = types.AppendRowsRequest.deserialize(append_rows_request(STREAM, offset, schema, 300, batch.serialize()))
    assert request.write_stream == STREAM
    assert ("offset" in request) == (offset is not None)
    if offset is not None:
        assert request.offset == offset
    rows = request.arrow_rows
    assert rows.writer_schema.serialized_schema == schema
    assert rows.rows.row_count == 300
    arrow_schema = pa.ipc.read_schema(pa.py_buffer(rows.writer_schema.serialized_schema))
    back = pa.ipc.read_record_batch(pa.py_buffer(rows.rows.serialized_record_batch), arrow_schema)
    assert back.equals(batch)
    expected = types.AppendRowsRequest(write_stream=STREAM, arrow_rows={
        "writer_schema": {"serialized_schema": schema},
        "rows": {"serialized_record_batch": batch.serialize().to_pybytes(), "row_count": 300},
    })  # fmt: skip
    if offset is not None:
        expected.offset = offset
    assert request == expected
