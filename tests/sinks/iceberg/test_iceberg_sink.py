"""The Iceberg sink on a real SQLite catalog and a warehouse on disk: the worker end to end (every valid receipt
once, read back by pyiceberg's scan, polars and plain Parquet readers), the type mapping, the ack rule (nothing
durable or visible before its commit), a crash before the commit (no row visible), schema evolution by field id."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from streamlake_fast import ConfigError, Schema
from streamlake_fast.destinations import Destinations, IcebergConfig, LakeConfig
from streamlake_fast.destinations.build import build
from streamlake_fast.local.generate import receipt_batches, receipt_schema
from streamlake_fast.sinks.iceberg import IcebergSink
from streamlake_fast.sinks.lake import lake_schema
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker import Worker
from tests.sinks.iceberg.helpers import PUBLISHED, Clock, iceberg_sink, receipts_of
from tests.sinks.lake.helpers import lake_batch


def _data_files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "wh").rglob("*.parquet") if not p.name.startswith("."))


@pytest.mark.filterwarnings("ignore:Iceberg scan planning")  # polars plans with pyiceberg: what we test against
def test_the_worker_lands_every_valid_receipt_once_and_readers_we_did_not_write_agree(tmp_path: Path) -> None:
    schema_file = tmp_path / "receipts.json"
    schema_file.write_text(json.dumps(receipt_schema().to_bigquery()))
    ice = IcebergConfig(table="shop.receipts", catalog=f"sqlite:///{tmp_path}/catalog.db",
                        warehouse=str(tmp_path / "wh"), commit_interval=0.2)  # fmt: skip
    d = Destinations(schema=str(schema_file), iceberg=ice, dead_letter_dir=str(tmp_path / "dead"),
                     lake=LakeConfig(partition_by="event_time"))  # fmt: skip
    built = build(d)
    batches = list(receipt_batches(6_000, 1_000, seed=3, invalid_fraction=0.01))
    source = MemorySource(batches)
    stats = Worker(source, built.sinks, built.codec, dead_letter=built.dead_letter, exit_when_drained=True,
                   progress_interval=60, max_rows=500).run()  # fmt: skip
    valid = stats.events - stats.rejects
    assert stats.rejects == 60 and source.acked == 6_000
    (sink,) = built.sinks
    assert isinstance(sink, IcebergSink)
    table = sink.catalog.load_table("shop.receipts")
    scanned = table.scan().to_arrow()
    assert scanned.num_rows == valid and len(set(scanned.column("message_id").to_pylist())) == valid
    assert len(table.snapshots()) == sink.commits >= 1
    assert [f.name for f in table.spec().fields] == ["event_time_day"]
    import polars as pl

    assert pl.scan_iceberg(table).select(pl.len()).collect().item() == valid
    plain = ds.dataset([str(p) for p in _data_files(tmp_path)], format="parquet").to_table()
    assert plain.num_rows == valid  # every data file is committed: no orphans, no duplicates
    assert sorted(plain.column("event_id").to_pylist()) == sorted(scanned.column("event_id").to_pylist())


def test_every_bigquery_type_maps_as_documented(tmp_path: Path) -> None:
    fields = [{"name": t.lower(), "type": t, "mode": "NULLABLE"} for t in ["STRING", "BYTES", "INT64", "FLOAT64",
              "NUMERIC", "BIGNUMERIC", "BOOL", "DATE", "TIME", "DATETIME", "TIMESTAMP", "JSON"]]  # fmt: skip
    rec = [{"name": "big", "type": "BIGNUMERIC"}, {"name": "tags", "type": "STRING", "mode": "REPEATED"}]
    fields += [
        {"name": "rec", "type": "RECORD", "mode": "REQUIRED", "fields": rec},
        {"name": "many", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "n", "type": "INT64"}]},
    ]
    schema = Schema.from_bigquery(fields)
    sink = iceberg_sink(tmp_path, schema, partition_by="timestamp")
    event = {"string": "s", "bytes": "YWI=", "int64": 7, "float64": 1.5, "numeric": "12.5",
             "bignumeric": "123456789012345678901234567890.123456789012345678901234567890", "bool": True,
             "date": "2026-12-07", "time": "10:11:12", "datetime": "2026-12-07T10:11:12",
             "timestamp": "2026-12-07T10:11:12Z", "json": {"a": [1]},
             "rec": {"big": "-1.5", "tags": ["x", "y"]}, "many": [{"n": 1}, {"n": 2}]}  # fmt: skip
    sink.write(lake_batch(schema, [json.dumps(event).encode(), b'{"rec": {}}'], 0, PUBLISHED))
    sink.flush()
    table = sink.catalog.load_table("shop.events")
    types = {f.name: str(f.field_type) for f in table.schema().fields}
    assert types["numeric"] == "decimal(38, 9)" and types["bignumeric"] == "string"
    assert types["timestamp"] == "timestamptz" and types["datetime"] == "timestamp" and types["json"] == "string"
    assert types["date"] == "date" and types["time"] == "time" and types["bytes"] == "binary"
    assert types["int64"] == "long" and types["float64"] == "double" and types["bool"] == "boolean"
    assert types["rec"].startswith("struct<") and types["many"].startswith("list<struct<")
    assert not table.schema().find_field("string").required and table.schema().find_field("rec").required
    rows = {r["string"]: r for r in table.scan().to_arrow().to_pylist()}
    full = rows["s"]
    big = "123456789012345678901234567890.123456789012345678901234567890"
    assert full["bignumeric"] == big + "0" * 8  # exact, at BIGNUMERIC's scale of 38
    assert Decimal(full["rec"]["big"]) == Decimal("-1.5") and full["rec"]["tags"] == ["x", "y"]
    assert full["numeric"] == Decimal("12.500000000")
    assert full["json"] == '{"a":[1]}' and full["many"] == [{"n": 1}, {"n": 2}]
    assert rows[None]["timestamp"] is None  # a null partition value: its own partition, read back
    partitions = {tuple(p["partition"].values()) for p in table.inspect.partitions().to_pylist()}
    assert partitions == {(date(2026, 12, 7),), (None,)}  # day(timestamp), and the null partition


def test_rows_are_durable_and_visible_only_after_their_commit(tmp_path: Path) -> None:
    clock = Clock()
    schema = receipt_schema()
    sink = iceberg_sink(tmp_path, schema, commit_interval=5.0, clock=clock)
    receipts = receipts_of(200)
    sink.write(lake_batch(schema, receipts[:100], 0, PUBLISHED))
    sink.poll()
    table = sink.catalog.load_table("shop.events")
    assert sink.durable_batches == 0 and table.scan().to_arrow().num_rows == 0
    clock.now = 5.0
    sink.write(lake_batch(schema, receipts[100:], 100, PUBLISHED))
    sink.poll()
    assert sink.durable_batches == 2 and sink.commits == 1
    assert sink.catalog.load_table("shop.events").scan().to_arrow().num_rows == 200


def test_a_crash_before_the_commit_leaves_no_row_visible(tmp_path: Path) -> None:
    schema = receipt_schema()
    sink = iceberg_sink(tmp_path, schema, commit_interval=60.0)
    receipts = receipts_of(50)
    sink.write(lake_batch(schema, receipts, 0, PUBLISHED))
    sink.close()  # as a kill would: written, never committed
    again = iceberg_sink(tmp_path, schema)
    assert again.catalog.load_table("shop.events").scan().to_arrow().num_rows == 0
    again.write(lake_batch(schema, receipts, 0, PUBLISHED))  # the redelivery
    again.flush()
    assert again.catalog.load_table("shop.events").scan().to_arrow().num_rows == 50


def test_a_widened_schema_adds_optional_fields_without_rewriting_data(tmp_path: Path) -> None:
    narrow = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"},
                                   {"name": "n", "type": "INT64"}])  # fmt: skip
    wide = Schema.from_bigquery([*narrow.to_bigquery(), {"name": "note", "type": "STRING"}])
    sink = iceberg_sink(tmp_path, narrow)
    sink.write(lake_batch(narrow, [b'{"id": "a", "n": 1}'], 0, PUBLISHED))
    sink.flush()
    first_files = set(_data_files(tmp_path))
    sink.write(lake_batch(wide, [b'{"id": "b", "n": 2, "note": "new"}'], 1, PUBLISHED))
    sink.flush()
    table = sink.catalog.load_table("shop.events")
    ids = {f.name: f.field_id for f in table.schema().fields}
    assert list(ids)[:3] == ["id", "n", "message_id"] and ids["note"] > max(ids[n] for n in ids if n != "note")
    assert not table.schema().find_field("note").required
    rows = sorted(table.scan().to_arrow().select(["id", "note"]).to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": "a", "note": None}, {"id": "b", "note": "new"}]
    assert first_files <= set(_data_files(tmp_path))  # the first file is kept as written
    assert len(table.schemas()) == 2


def test_the_settings_are_checked_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"NAMESPACE\.TABLE"):
        Destinations(iceberg=IcebergConfig(table="flat", catalog="sqlite:///x.db"), schema=None).check(
            events_given=True)  # fmt: skip
    with pytest.raises(ConfigError, match="needs its catalog"):
        Destinations(iceberg=IcebergConfig(table="a.b"), dead_letter_dir=str(tmp_path)).check(events_given=True)
    with pytest.raises(ConfigError, match="needs a warehouse"):
        IcebergSink("a.b", catalog=f"sqlite:///{tmp_path}/c.db", schema=lake_schema(receipt_schema().to_arrow()))
    with pytest.raises(ConfigError, match="expected sqlite"):
        IcebergSink("a.b", catalog="ftp://x", schema=lake_schema(receipt_schema().to_arrow()))


def test_a_redelivery_after_a_crash_is_not_written_twice(tmp_path: Path) -> None:
    """Committed, then killed before the acknowledgements: the restarted sink reads back the newest snapshots'
    message ids and drops the redelivered rows the table holds — and writes the ones it does not."""
    schema = receipt_schema()
    receipts = receipts_of(300)
    first = iceberg_sink(tmp_path, schema)
    for start in (0, 100):
        first.write(lake_batch(schema, receipts[start : start + 100], start, PUBLISHED))
        first.flush()
    first.close()  # killed: the 200 messages were never acknowledged
    clock = Clock()
    again = iceberg_sink(tmp_path, schema, clock=clock, dedup_window=60.0)
    again.write(lake_batch(schema, receipts[50:250], 50, PUBLISHED))  # 150 redelivered, 50 new
    again.flush()
    ids = again.catalog.load_table("shop.events").scan().to_arrow().column("message_id").to_pylist()
    assert len(ids) == len(set(ids)) == 250 and again.duplicates_skipped == 150
    assert again.durable_batches == 1  # the batch counts (its messages are acknowledged) though some rows were held
    clock.now = 61.0  # past the window: nothing is checked any more
    again.write(lake_batch(schema, receipts[:10], 0, PUBLISHED))
    again.flush()
    assert again.duplicates_skipped == 150
    assert len(again.catalog.load_table("shop.events").scan().to_arrow()) == 260
