"""The BigQuery sink on bqemulator: request splitting, committed-stream offsets, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlake_fast import Codec, Schema
from streamlake_fast.config import WorkerConfig
from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.runtimes.worker import build_worker
from streamlake_fast.sinks.bigquery import BigQuerySink, request_pieces
from streamlake_fast.transports.names import parse_table
from tests.servers.fixtures import Cloud
from tests.worker.helpers import table_rows


def _batch(n: int) -> pa.RecordBatch:
    result = Codec(Schema.from_bigquery(RECEIPT_SCHEMA)).decode([m for m, _ in receipts(n)])
    return result.batch


def test_large_batches_are_split_under_the_request_limit(cloud: Cloud) -> None:
    table = cloud.create_table(RECEIPT_SCHEMA)
    sink = BigQuerySink(table, max_request_bytes=100_000)
    batch = _batch(3000)
    sink.write(batch)
    assert sink.requests > 5
    assert sink.rows_written == 3000
    assert table_rows(cloud, table).num_rows == 3000


@pytest.mark.parametrize("mode", ["default", "committed"])
def test_uneven_rows_stay_under_the_limit_and_a_row_too_large_is_refused_alone(cloud: Cloud, mode: str) -> None:
    """10 rows of ~60 KB among 190 tiny ones, a 100 KB request limit: every request fits (the average would have
    put several big rows in one), and a 150 KB row is refused alone, the others written."""
    fields = [{"name": "id", "type": "INT64", "mode": "REQUIRED"}, {"name": "text", "type": "STRING"}]
    table = cloud.create_table(fields)
    sizes = [60_000 if i % 20 == 0 else 10 for i in range(200)]
    sizes[77] = 150_000
    batch = pa.RecordBatch.from_pylist([{"id": i, "text": "x" * n} for i, n in enumerate(sizes)],
                                       schema=Schema.from_bigquery(fields).to_arrow())  # fmt: skip
    sink = BigQuerySink(table, mode=mode, max_request_bytes=100_000)
    refused = sink.write(batch)
    assert [(r.row, r.code) for r in refused] == [(77, "row_too_large")]
    assert "100,000-byte AppendRows limit" in refused[0].message
    sink.close()
    landed = table_rows(cloud, table)
    assert sorted(landed.column("id").to_pylist()) == [i for i in range(200) if i != 77]
    assert sum(len(t or "") for t in landed.column("text").to_pylist()) == sum(sizes) - 150_000


def test_committed_stream_never_writes_a_retried_append_twice(cloud: Cloud) -> None:
    table = cloud.create_table(RECEIPT_SCHEMA)
    sink = BigQuerySink(table, mode="committed", max_request_bytes=200_000)
    first, second = _batch(1000), _batch(500)
    sink.write(first)
    # As after a lost response: the same batch is sent again from the same offset.
    sink._offset -= first.num_rows
    sink.write(first)
    sink.write(second)
    assert sink.duplicates_avoided == 1000
    landed = table_rows(cloud, table)
    assert landed.num_rows == 1500
    sink.close()


def test_default_stream_mode_is_at_least_once(cloud: Cloud) -> None:
    table = cloud.create_table(RECEIPT_SCHEMA)
    sink = BigQuerySink(table)
    batch = _batch(100)
    sink.write(batch)
    sink.write(batch)  # a retry on the default stream writes again: at-least-once
    assert table_rows(cloud, table).num_rows == 200


@pytest.mark.parametrize("mode", ["default", "committed"])
def test_a_missing_table_is_a_clear_permanent_error(cloud: Cloud, mode: str) -> None:
    cloud.create_table(RECEIPT_SCHEMA)  # the dataset exists, the table does not
    table = f"streamlake-test.ds_{cloud.suffix}.missing"
    with pytest.raises(SinkError, match=f"bigquery:{table}") as info:
        BigQuerySink(table, mode=mode).write(_batch(10))  # type: ignore[arg-type]
    assert not isinstance(info.value, TransientSinkError)


def test_given_schema_must_match_the_table(cloud: Cloud, tmp_path: Path) -> None:
    table = cloud.create_table(RECEIPT_SCHEMA)
    wrong = [dict(f) for f in RECEIPT_SCHEMA]
    wrong[2] = {"name": "customer_id", "type": "STRING", "mode": "REQUIRED"}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(wrong))
    _, subscription = cloud.create_topic_and_subscription()
    config = WorkerConfig(subscription=subscription, table=table, schema=str(path), dead_letter_topic=cloud.topic())
    with pytest.raises(ConfigError, match="column 'customer_id': given STRING REQUIRED, table has INT64 REQUIRED"):
        build_worker(config)


def test_missing_table_is_a_clear_start_up_error(cloud: Cloud) -> None:
    _, subscription = cloud.create_topic_and_subscription()
    config = WorkerConfig(subscription=subscription, table="streamlake-test.nope.missing")
    with pytest.raises(ConfigError, match=r"cannot read the schema of table streamlake-test\.nope\.missing"):
        build_worker(config)


def test_parse_table() -> None:
    assert parse_table("p.d.t") == ("p", "d", "t")
    assert parse_table("p:d.t") == ("p", "d", "t")
    with pytest.raises(ConfigError, match=r"PROJECT\.DATASET\.TABLE, got .d\.t."):
        parse_table("d.t")


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.one_of(st.integers(0, 50), st.integers(1_000, 30_000)), min_size=1, max_size=120))
def test_request_pieces_cover_every_row_in_order_each_under_the_limit(sizes: list[int]) -> None:
    batch = pa.RecordBatch.from_pydict({"text": ["y" * n for n in sizes]})
    limit = 20_000
    covered = []
    for first, rows, data in request_pieces(batch, limit):
        covered.extend(range(first, first + rows.num_rows))
        if data is None:
            assert rows.num_rows == 1 and rows.serialize().size > limit
        else:
            assert data.size <= limit and data.size == rows.serialize().size
    assert covered == list(range(len(sizes)))


def test_the_rejects_table_keeps_a_reject_too_large_for_a_request(cloud: Cloud) -> None:
    """A reject of 12 MB (over the 10 MB AppendRows request) still lands in the rejects table: its data cut to the
    first megabyte, its size and sha256 in the message."""
    import hashlib

    from streamlake_fast import Messages
    from streamlake_fast.sinks.deadletter import DeadLetterTable, dead_letter_records

    table = cloud.create_table(RECEIPT_SCHEMA)
    huge = b'{"' + b"x" * 12_000_000 + b'": 1}'
    messages = Messages.from_data([huge, b"not json"])
    rejects = Codec(Schema.from_bigquery(RECEIPT_SCHEMA)).decode(messages).rejects
    sink = DeadLetterTable(f"{table}_rejects")
    assert sink.write(dead_letter_records(messages, rejects, source="s", schema_fingerprint="f")) == []
    rows = {r["message_id"]: r for r in table_rows(cloud, f"{table}_rejects").to_pylist()}
    assert rows["1"]["data"] == huge[:1_000_000] and rows["2"]["data"] == b"not json"
    assert f"of {len(huge):,} bytes; sha256 {hashlib.sha256(huge).hexdigest()}" in rows["1"]["message"]
