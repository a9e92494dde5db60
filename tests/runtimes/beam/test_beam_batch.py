"""The Beam transforms in batch mode (``beam.Create``, DirectRunner): every reject code, attributes and ids of
``PubsubMessage`` elements, batching, the lake layout."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tests.servers.beam import require_beam

beam = require_beam()

from apache_beam.io.gcp.pubsub import PubsubMessage  # noqa: E402
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from streamlake_fast import REJECT_CODES, Codec, Schema  # noqa: E402
from streamlake_fast.beam import DecodeEvents, WriteToLake, messages_of  # noqa: E402
from streamlake_fast.sinks.deadletter import DEAD_LETTER_SCHEMA  # noqa: E402
from streamlake_fast.sinks.lake.verify import verify_lake  # noqa: E402
from tests.codec.test_rejects import CASES, SCHEMA  # noqa: E402

VALID = [b'{"id": "a", "n": 1}', b'{"id": "b", "items": [{"qty": 2}]}', b'{"id": "c"}']


_OUTPUTS: dict[str, list[Any]] = {}


def _keep(tag: str, element: Any) -> None:
    _OUTPUTS[tag].append(element)


def _run(
    messages: list[Any], schema: Schema = SCHEMA, **options: Any
) -> tuple[list[pa.RecordBatch], list[dict[str, Any]]]:
    """Run DecodeEvents over ``messages`` and collect both outputs (through a module-level function, which the
    DirectRunner — running batch pipelines in this process — calls by reference)."""
    _OUTPUTS.update(valid=[], rejects=[])
    with beam.Pipeline(runner="DirectRunner") as p:
        out = p | beam.Create(messages, reshuffle=False) | DecodeEvents(schema, **options)
        out.valid | "v" >> beam.Map(partial(_keep, "valid"))
        out.rejects | "r" >> beam.Map(partial(_keep, "rejects"))
    return _OUTPUTS["valid"], _OUTPUTS["rejects"]


def test_every_reject_code_comes_out_with_its_reason_and_the_valid_rows_stay() -> None:
    big = b'{"id": "' + b"x" * 200 + b'"}'
    cases = [(m, code, path, text) for m, code, path, text in CASES]
    messages = [*VALID, *(c[0] for c in cases), big]
    batches, rejects = _run(messages, max_message_bytes=150)
    rows = pa.Table.from_batches(batches)
    assert sorted(rows.column("id").to_pylist()) == ["a", "b", "c"]
    by_data = {r["data"]: r for r in rejects}
    assert len(rejects) == len(cases) + 1
    for message, code, path, text in cases:
        r = by_data[message]
        assert (r["reason_code"], r["path"], r["message"]) == (code, path, text)
        assert r["schema_fingerprint"] == SCHEMA.fingerprint
        assert list(r) == DEAD_LETTER_SCHEMA.names
    assert by_data[big]["reason_code"] == "message_too_large"
    json_column = Schema.from_bigquery([{"name": "v", "type": "JSON"}])
    _, deep = _run([b'{"v": [[1]]}', b'{"v": [[[1]]]}'], json_column, max_depth=3)
    assert [(r["reason_code"], r["path"]) for r in deep] == [("too_deep", "v[0][0]")]
    sink_codes = {"row_too_large", "refused_by_sink"}  # a sink's, for valid events
    route_codes = {"no_route", "invalid_destination"}  # routing's, before decoding; the codec gives the rest
    envelope_codes = {"bad_envelope", "envelope_too_large", "envelope_too_many_events", "unknown_dictionary"}
    assert {r["reason_code"] for r in [*rejects, *deep]} == set(
        REJECT_CODES
    ) - sink_codes - route_codes - envelope_codes


def test_envelopes_are_opened_beside_plain_messages() -> None:
    import zstandard

    marks = {"content-encoding": "zstd", "content-type": "application/x-ndjson"}
    sealed = zstandard.ZstdCompressor().compress(b'{"id": "e0"}\n{"id": 7}\n{"id": "e2"}\n')
    messages = [PubsubMessage(VALID[0], {}, message_id="p-1"), PubsubMessage(sealed, marks, message_id="env-1"),
                PubsubMessage(b"not zstd", marks, message_id="env-2")]  # fmt: skip
    batches, rejects = _run(messages)
    rows = pa.Table.from_batches(batches).to_pylist()
    assert sorted((r["id"], r["message_id"], r["event_index"]) for r in rows) == [
        ("a", "p-1", 0), ("e0", "env-1", 0), ("e2", "env-1", 2)]  # fmt: skip
    got = sorted((r["message_id"], r["event_index"], r["reason_code"], r["data"]) for r in rejects)
    assert got == [("env-1", 1, "type_mismatch", b'{"id": 7}'), ("env-2", 0, "bad_envelope", b"not zstd")]


def test_envelopes_made_with_a_dictionary_open_with_the_file_given(tmp_path: Path) -> None:
    import zstandard

    samples = [json.dumps({"id": f"beam-{i}", "pad": "y" * (i % 50)}).encode() for i in range(2000)]
    trained = zstandard.train_dictionary(1024, samples)
    (tmp_path / "ids.dict").write_bytes(trained.as_bytes())
    sealed = zstandard.ZstdCompressor(dict_data=trained).compress(b'{"id": "d0"}\n{"id": "d1"}\n')
    marks = {"content-encoding": "zstd", "content-dictionary": str(trained.dict_id())}
    batches, rejects = _run([PubsubMessage(sealed, marks, message_id="env-d")],
                            envelope_dictionaries=[tmp_path / "ids.dict"])  # fmt: skip
    assert not rejects
    assert [r["id"] for r in pa.Table.from_batches(batches).to_pylist()] == ["d0", "d1"]


def test_pubsub_messages_keep_attributes_ids_and_publish_time() -> None:
    published = datetime(2026, 11, 26, 10, 15, 42, 123456, tzinfo=timezone.utc)
    messages = [
        PubsubMessage(VALID[0], {"source": "till-7", "k": "v"}, message_id="m-1", publish_time=published),
        PubsubMessage(b'{"id": 5}', {"source": "till-8"}, message_id="m-2", publish_time=published),
    ]
    batches, rejects = _run(messages, source="projects/p/subscriptions/receipts")
    (batch,) = batches
    row = batch.to_pylist()[0]
    assert row["message_id"] == "m-1" and row["publish_time"] == published
    assert json.loads(row["attributes"]) == {"source": "till-7", "k": "v"}
    assert row["subscription_name"] == "projects/p/subscriptions/receipts"
    (r,) = rejects
    assert (r["message_id"], r["reason_code"], r["path"]) == ("m-2", "type_mismatch", "id")
    assert json.loads(r["attributes"]) == {"source": "till-8"} and r["publish_time"] == published


def test_batches_hold_at_most_max_batch_size_and_every_message_once() -> None:
    messages = [json.dumps({"id": str(i)}).encode() for i in range(1000)]
    batches, rejects = _run(messages, max_batch_size=64)
    assert not rejects and all(b.num_rows <= 64 for b in batches)
    ids = [i for b in batches for i in b.column("id").to_pylist()]
    assert sorted(ids, key=int) == [str(i) for i in range(1000)]


def test_messages_of_matches_the_worker_decoding() -> None:
    at = 1_700_000_000_000_000
    m = messages_of([(VALID[0], at), (PubsubMessage(VALID[1], None, message_id="x"), at)])
    assert len(m) == 2 and m.message(0).data == VALID[0] and m.message(1).message_id == "x"
    direct = Codec(SCHEMA).decode(VALID[:2]).batch
    assert Codec(SCHEMA).decode(m).batch.equals(direct)


def test_decode_events_refuses_bad_options_at_construction() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        DecodeEvents(SCHEMA, max_batch_size=0)
    with pytest.raises(ValueError, match="unknown_fields"):
        DecodeEvents(SCHEMA, unknown_fields="drop")  # type: ignore[arg-type]


def test_write_to_lake_uses_the_worker_layout(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    messages = [
        PubsubMessage(json.dumps({"id": str(i), "n": i}).encode(), {}, message_id=f"id-{i}",
                      publish_time=datetime(2026, 11, 25 + i % 2, tzinfo=timezone.utc))
        for i in range(500)
    ]  # fmt: skip
    with BeamTestPipeline(runner="DirectRunner") as p:
        out = p | beam.Create(messages, reshuffle=False) | DecodeEvents(SCHEMA, max_batch_size=100)
        out.valid | WriteToLake(lake, SCHEMA)
        assert_that(out.rejects, equal_to([]))
    report = verify_lake(lake)
    assert report.rows == 500 and report.duplicate_ids == 0 and not report.temporary_files
    assert sorted(report.partitions) == ["dt=2026-11-25", "dt=2026-11-26"]
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("n").to_pylist()) == list(range(500))
    assert set(table.schema.names) >= {"id", "n", "items", "message_id", "publish_time"}
    assert Schema.from_arrow(table.schema.remove(table.schema.get_field_index("dt"))).to_arrow().names[:3] == [
        "id", "n", "items"
    ]  # fmt: skip


def test_unbounded_input_is_batched_across_bundles_by_sharded_key() -> None:
    """A streaming input (TestStream: elements arriving one by one) takes the GroupIntoBatches path."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_stream import TestStream

    stream = TestStream()
    for i in range(50):
        stream = stream.add_elements([json.dumps({"id": str(i), "n": i}).encode()])
    stream = stream.add_elements([b'{"id": 1}']).advance_watermark_to_infinity()
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    _OUTPUTS.update(valid=[], rejects=[])
    with beam.Pipeline(runner="DirectRunner", options=options) as p:
        messages = p | stream
        assert not messages.is_bounded
        out = messages | DecodeEvents(SCHEMA, max_batch_size=20, max_batch_duration_secs=0.5)
        out.valid | "v" >> beam.Map(partial(_keep, "valid"))
        out.rejects | "r" >> beam.Map(partial(_keep, "rejects"))
    rows = [i for b in _OUTPUTS["valid"] for i in b.column("n").to_pylist()]
    assert sorted(rows) == list(range(50)) and all(b.num_rows <= 20 for b in _OUTPUTS["valid"])
    assert [r["reason_code"] for r in _OUTPUTS["rejects"]] == ["type_mismatch"]
