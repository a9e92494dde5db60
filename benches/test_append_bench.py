"""A BigQuery Storage Write ``AppendRows`` request of Arrow rows, made ready for gRPC: streamlake_fast's (the batch
serialized once by Arrow, joined after a head written in Rust, sent as bytes) beside the client library's own path
(``google-cloud-bigquery-storage``: an ``AppendRowsRequest`` message holding the serialized batch, serialized by the
request serializer the client hands gRPC). Both requests are checked equal as messages.

Run: ``pytest benches/test_append_bench.py`` (10,000 receipts a request; CI runs it once with timing disabled).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from google.cloud.bigquery_storage_v1 import types

from streamlake_fast import Codec, Schema
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.transports.gcp.wire import append_rows_request

ROWS = int(os.environ.get("STREAMLAKE_APPEND_BENCH_ROWS", "10000"))
STREAM = "projects/p/datasets/d/tables/t/streams/_default"
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def batch() -> Any:
    return Codec(Schema.from_bigquery(RECEIPT_SCHEMA)).decode([m for m, _ in receipts(ROWS)]).batch


def _ours(batch: Any, schema: bytes) -> bytes:
    return append_rows_request(STREAM, None, schema, batch.num_rows, batch.serialize())


def _client_library(batch: Any, schema: bytes) -> bytes:
    request = types.AppendRowsRequest(write_stream=STREAM, arrow_rows={
        "writer_schema": {"serialized_schema": schema},
        "rows": {"serialized_record_batch": batch.serialize().to_pybytes(), "row_count": batch.num_rows},
    })  # fmt: skip
    return types.AppendRowsRequest.serialize(request)


def _before(batch: Any, schema: bytes) -> bytes:
    """This sink until 2026-12-07: the raw protobuf message filled and wrapped (no proto-plus copy on the way in),
    serialized by the client's request serializer."""
    pb = types.AppendRowsRequest.pb()(write_stream=STREAM)
    pb.arrow_rows.writer_schema.serialized_schema = schema
    pb.arrow_rows.rows.serialized_record_batch = batch.serialize().to_pybytes()
    pb.arrow_rows.rows.row_count = batch.num_rows
    return types.AppendRowsRequest.serialize(types.AppendRowsRequest.wrap(pb))


IMPLS = {"streamlake_fast": _ours, "client library": _client_library, "streamlake_fast before": _before}


@pytest.mark.parametrize("impl", list(IMPLS))
def test_append_request(benchmark: Any, batch: Any, impl: str) -> None:
    benchmark.group = "AppendRows request"
    schema = batch.schema.serialize().to_pybytes()
    make = IMPLS[impl]
    request = benchmark.pedantic(lambda: make(batch, schema), rounds=20, iterations=1, warmup_rounds=2)
    assert types.AppendRowsRequest.deserialize(request) == types.AppendRowsRequest.deserialize(
        _client_library(batch, schema)
    )
    stats = getattr(benchmark, "stats", None)
    if stats:
        RESULTS[impl] = stats.stats.min / ROWS * 1e6
    if len(RESULTS) == len(IMPLS):
        ours = RESULTS["streamlake_fast"]
        each = ", ".join(f"{k} {v:.3f} ({v / ours:.1f}x)" for k, v in RESULTS.items())
        print(f"\nAppendRows request, µs/row: {each}")
