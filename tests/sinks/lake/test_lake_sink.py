"""The lake sink on local disk: contents, partitions, rolling, atomic visibility, schema widening, durability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from streamlake_fast import Codec, Schema
from streamlake_fast.cli import main
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.local.generate import INVALID_KINDS, receipt_schema, receipts
from streamlake_fast.sinks.lake import LakeSink, lake_schema, verify_lake
from streamlake_fast.sinks.lake.layout import FINGERPRINT_KEY
from tests.sinks.lake.helpers import lake_batch, read_lake, run_lake_worker, visible_files

EVENTS_SCHEMA = [
    {"name": "id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "at", "type": "TIMESTAMP", "mode": "NULLABLE"},
    {"name": "n", "type": "INT64", "mode": "NULLABLE"},
]


def _chunks(items: list[bytes], size: int) -> list[list[bytes]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _lake_batch(schema: Schema, events: list[dict[str, object]], first_id: int, publish_us: int) -> pa.RecordBatch:
    return lake_batch(schema, [json.dumps(e).encode() for e in events], first_id, publish_us)


def test_lake_holds_exactly_the_valid_events(tmp_path: Path) -> None:
    pairs = list(receipts(12_000, seed=3, invalid_fraction=0.01))
    stats, sink, source = run_lake_worker(tmp_path, _chunks([m for m, _ in pairs], 1000))
    valid = [m for m, kind in pairs if kind is None]
    want = pa.Table.from_batches([Codec(receipt_schema()).decode(valid).batch]).sort_by("event_id")

    got = read_lake(tmp_path).sort_by("event_id")
    assert got.num_rows == len(valid) == sink.rows_written
    assert got.select(want.column_names).equals(want)
    assert sorted(int(i) for i in got.column("message_id").to_pylist()) == [
        i + 1 for i, (_, kind) in enumerate(pairs) if kind is None
    ]
    assert source.acked == 12_000 and source.nacked == 0
    assert stats.rejects == 120

    rejects = [
        json.loads(line) for f in (tmp_path / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()
    ]
    assert len(rejects) == 120
    data_to_kind = {m.decode(errors="replace"): kind for m, kind in pairs if kind}
    for r in rejects:
        assert r["reason_code"] == INVALID_KINDS[data_to_kind[r["data"]]]
        assert r["message"] and r["schema_fingerprint"] == receipt_schema().fingerprint


def test_late_and_undated_events_land_in_their_own_partitions(tmp_path: Path) -> None:
    schema = Schema.from_bigquery(EVENTS_SCHEMA)
    publish_us = 1_795_000_000_000_000  # 2026-11-18T...
    events = [
        {"id": "a", "at": "2026-11-26T23:59:59.999999Z", "n": 1},
        {"id": "b", "at": "2026-11-25T10:00:00+02:00", "n": 2},  # 08:00 UTC: still the 25th
        {"id": "c", "at": "2026-11-27T00:30:00+01:00", "n": 3},  # 23:30 UTC on the 26th
        {"id": "d", "at": "2025-01-01T00:00:00Z", "n": 4},  # very late
        {"id": "e", "n": 5},  # no event time: the publish date
    ]
    sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()), partition_by="at")
    sink.write(_lake_batch(schema, events, 1, publish_us))
    sink.flush()
    got = read_lake(tmp_path)
    where = dict(zip(got.column("id").to_pylist(), got.column("dt").to_pylist(), strict=True))
    assert {k: str(v) for k, v in where.items()} == {
        "a": "2026-11-26", "b": "2026-11-25", "c": "2026-11-26", "d": "2025-01-01", "e": "2026-11-18",
    }  # fmt: skip
    assert sorted(p.parent.name for p in visible_files(tmp_path)) == [
        "dt=2025-01-01", "dt=2026-11-18", "dt=2026-11-25", "dt=2026-11-26",
    ]  # fmt: skip


def test_without_partition_field_the_publish_date_is_used(tmp_path: Path) -> None:
    schema = Schema.from_bigquery(EVENTS_SCHEMA)
    sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()))
    sink.write(_lake_batch(schema, [{"id": "x", "at": "2020-01-01T00:00:00Z"}], 7, 0))
    sink.flush()
    assert [p.parent.name for p in visible_files(tmp_path)] == ["dt=1970-01-01"]


def test_files_roll_by_size_and_age_and_nothing_is_visible_before(tmp_path: Path) -> None:
    schema = Schema.from_bigquery(EVENTS_SCHEMA)
    now = [0.0]
    sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()), max_file_age=30, clock=lambda: now[0])
    batch = _lake_batch(schema, [{"id": f"e{i}", "n": i} for i in range(1000)], 1, 1_795_000_000_000_000)
    sink.write(batch)
    sink.write(batch)
    assert visible_files(tmp_path) == []  # buffered: a hidden spool only
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent.name != "_schemas"]  # not the schema history
    assert [p.name.startswith(".") and p.name.endswith(".tmp") for p in files] == [True]
    assert sink.durable_batches == 0
    now[0] = 29.9
    sink.poll()
    assert sink.durable_batches == 0
    now[0] = 30.0
    sink.poll()
    assert sink.durable_batches == 2
    files = visible_files(tmp_path)
    assert len(files) == 1 and pq.read_metadata(files[0]).num_rows == 2000
    assert "-1-2000-" in files[0].name  # first message id and row count in the name

    small = LakeSink(str(tmp_path / "small"), schema=lake_schema(schema.to_arrow()), target_file_bytes=4000,
                     row_group_bytes=1)  # fmt: skip
    for _ in range(5):
        small.write(batch)
    small.flush()
    counts = [pq.read_metadata(f).num_rows for f in visible_files(tmp_path / "small")]
    assert len(counts) >= 3 and sum(counts) == 5000


def test_durability_counts_only_batches_whose_every_file_is_visible(tmp_path: Path) -> None:
    schema = Schema.from_bigquery(EVENTS_SCHEMA)
    now = [0.0]
    sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()), partition_by="at", max_file_age=10,
                    clock=lambda: now[0])  # fmt: skip
    day1 = {"id": "a", "at": "2026-11-25T00:00:00Z"}
    day2 = {"id": "b", "at": "2026-11-26T00:00:00Z"}
    sink.write(_lake_batch(schema, [day1], 1, 0))  # batch 0: the 25th (file opened at t=0)
    now[0] = 5.0
    sink.write(_lake_batch(schema, [day1, day2], 2, 0))  # batch 1: both days (the 26th's file opened at t=5)
    now[0] = 10.0
    sink.poll()  # the 25th rolls; batch 1 still has a row in the 26th's open file
    assert sink.durable_batches == 1
    now[0] = 15.0
    sink.poll()
    assert sink.durable_batches == 2


def test_widened_schema_starts_new_files_and_the_lake_still_reads(tmp_path: Path) -> None:
    v1 = Schema.from_bigquery(EVENTS_SCHEMA)
    v2 = Schema.from_bigquery([*EVENTS_SCHEMA, {"name": "channel", "type": "STRING", "mode": "NULLABLE"}])
    sink = LakeSink(str(tmp_path), schema=lake_schema(v1.to_arrow()))
    sink.write(_lake_batch(v1, [{"id": "old", "n": 1}], 1, 0))
    sink.write(_lake_batch(v2, [{"id": "new", "n": 2, "channel": "web"}], 2, 0))
    assert sink.durable_batches == 1  # the v1 file rolled when the schema changed
    sink.flush()
    files = visible_files(tmp_path)
    prints = {pq.read_metadata(f).metadata[FINGERPRINT_KEY].decode() for f in files}
    assert len(files) == 2 and len(prints) == 2
    unified = pa.unify_schemas([pq.read_schema(f) for f in files])
    got = read_lake(tmp_path, schema=unified.append(pa.field("dt", pa.string()))).sort_by("id")
    assert got.select(["id", "channel"]).to_pylist() == [
        {"id": "new", "channel": "web"},
        {"id": "old", "channel": None},
    ]
    rows = duckdb.sql(
        f"SELECT id, channel FROM read_parquet('{tmp_path}/**/*.parquet', union_by_name = true) ORDER BY id"
    ).fetchall()
    assert rows == [("new", "web"), ("old", None)]
    report = verify_lake(str(tmp_path))
    assert len(report.fingerprints) == 2


def test_verify_reports_rows_and_duplicate_message_ids(tmp_path: Path) -> None:
    schema = Schema.from_bigquery(EVENTS_SCHEMA)
    batch = _lake_batch(schema, [{"id": f"e{i}"} for i in range(10)], 100, 1_795_000_000_000_000)
    for _ in range(2):  # a redelivery after a crash: two writers, the same messages
        sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()))
        sink.write(batch.slice(0, 6))
        sink.flush()
    (tmp_path / "dt=2026-11-18" / ".abandoned.parquet.tmp").write_bytes(b"PAR1 partial")
    report = verify_lake(str(tmp_path))
    assert (report.rows, report.files) == (12, 2)
    assert (report.duplicate_ids, report.duplicate_rows) == (6, 6)
    assert len(report.duplicate_examples["100"]) == 2
    assert report.temporary_files == ["dt=2026-11-18/.abandoned.parquet.tmp"]
    assert report.partitions["dt=2026-11-18"].rows == 12
    assert pc.sum(read_lake(tmp_path).column("n").is_null()).as_py() == 12  # the temporary file is not read


def test_verify_names_an_unreadable_file_and_still_counts_the_rest(tmp_path: Path) -> None:
    schema = Schema.from_bigquery(EVENTS_SCHEMA)
    sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()))
    sink.write(_lake_batch(schema, [{"id": "a"}, {"id": "b"}], 1, 0))
    sink.flush()
    (tmp_path / "dt=1970-01-01" / "part-broken.parquet").write_bytes(b"not parquet at all")
    report = verify_lake(str(tmp_path))
    assert report.rows == 2 and report.files == 1
    assert list(report.unreadable) == ["dt=1970-01-01/part-broken.parquet"]
    assert "UNREADABLE dt=1970-01-01/part-broken.parquet" in "\n".join(report.lines())
    assert main(["lake", "verify", str(tmp_path)]) == 1


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    schema = lake_schema(Schema.from_bigquery(EVENTS_SCHEMA).to_arrow())
    with pytest.raises(ConfigError, match="partition_by: no column 'nope'"):
        LakeSink(str(tmp_path), schema=schema, partition_by="nope")
    with pytest.raises(ConfigError, match="'n' is int64; it must be a TIMESTAMP"):
        LakeSink(str(tmp_path), schema=schema, partition_by="n")
    with pytest.raises(ConfigError, match="need a 'message_id' column"):
        LakeSink(str(tmp_path), schema=Schema.from_bigquery(EVENTS_SCHEMA).to_arrow())
    with pytest.raises(ConfigError, match="lake root must be"):
        LakeSink("ftp://host/x", schema=schema)


def test_events_declaring_their_own_nullable_publish_time_take_precedence(tmp_path: Path) -> None:
    """The event's own ``publish_time`` wins over the message's; rows with no date land in Hive's null
    partition instead of crashing the sink."""
    schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"},
                                   {"name": "publish_time", "type": "TIMESTAMP"}])  # fmt: skip
    events = [b'{"id": "a", "publish_time": "2026-01-02T03:04:05Z"}', b'{"id": "b"}']
    batch = lake_batch(schema, events, 1, 1_795_000_000_000_000)
    assert batch.column("publish_time").to_pylist()[1] is None
    sink = LakeSink(str(tmp_path), schema=lake_schema(schema.to_arrow()))
    sink.write(batch)
    sink.flush()
    dirs = sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith("dt="))
    assert dirs == ["dt=2026-01-02", "dt=__HIVE_DEFAULT_PARTITION__"]
    table = read_lake(tmp_path)
    assert sorted(table.column("id").to_pylist()) == ["a", "b"]
    assert verify_lake(str(tmp_path)).rows == 2


def test_verify_clean_deletes_only_old_temporaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    part = tmp_path / "dt=2026-01-01"
    part.mkdir()
    old, fresh = part / ".dead-writer.parquet.tmp", part / ".live-writer.parquet.tmp"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert main(["lake", "verify", str(tmp_path), "--clean", "--older-than", "3600"]) == 0
    out = capsys.readouterr().out
    assert "temporary files deleted (left by interrupted writers): 1" in out
    assert not old.exists() and fresh.exists()
    assert verify_lake(str(tmp_path)).temporary_files == ["dt=2026-01-01/.live-writer.parquet.tmp"]


def test_spool_directories_of_dead_processes_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
        leftover = tmp_path / f"streamlake-spool-{dead}-abc"
        leftover.mkdir()
        (leftover / "part.parquet").write_bytes(b"x" * 100)
        mine = tmp_path / f"streamlake-spool-{os.getpid()}-keep"
        mine.mkdir()
        sink = LakeSink(str(tmp_path / "lake"), schema=lake_schema(receipt_schema().to_arrow()))
        assert not leftover.exists() and mine.exists()
        sink.close()
    finally:
        tempfile.tempdir = None


def test_open_files_are_bounded_and_the_least_recent_rolls_first(tmp_path: Path) -> None:
    """A batch spanning 240 dates keeps at most ``max_open_files`` open (the least recently written rolls and
    becomes visible to make room); every row lands once."""
    schema = receipt_schema()
    events = []
    for i, (data, _) in enumerate(receipts(400, seed=3, invalid_fraction=0.0)):
        event = json.loads(data)
        event["event_time"] = f"2026-{1 + (i % 240) // 28:02d}-{1 + (i % 240) % 28:02d}T12:00:00Z"
        events.append(json.dumps(event).encode())
    sink = LakeSink(str(tmp_path / "lake"), schema=lake_schema(schema.to_arrow()), partition_by="event_time",
                    max_open_files=16, spool_dir=str(tmp_path / "spool"))  # fmt: skip
    most = 0
    for i, chunk in enumerate(_chunks(events, 100)):
        sink.write(lake_batch(schema, chunk, first_id=i * 100, publish_us=0))
        most = max(most, sink.open_files)
    assert most == 16 and sink.files_evicted > 0
    sink.flush()
    assert sink.open_files == 0 and sink.durable_batches == 4
    report = verify_lake(str(tmp_path / "lake"))
    assert report.rows == 400 and report.duplicate_ids == 0 and len(report.partitions) == 240
