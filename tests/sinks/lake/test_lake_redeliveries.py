"""A restarted lake sink recognises redelivered messages whose rows a visible file holds, and writes them once."""

from __future__ import annotations

from pathlib import Path

from streamlake_fast.local.generate import receipt_schema
from streamlake_fast.sinks.lake import LakeSink, lake_schema, verify_lake
from tests.sinks.iceberg.helpers import PUBLISHED, Clock, receipts_of
from tests.sinks.lake.helpers import lake_batch


def _sink(root: Path, **options: object) -> LakeSink:
    return LakeSink(str(root), schema=lake_schema(receipt_schema().to_arrow()), **options)  # type: ignore[arg-type]


def test_rows_of_messages_a_visible_file_holds_are_not_written_again(tmp_path: Path) -> None:
    schema, receipts, lake = receipt_schema(), receipts_of(300), tmp_path / "lake"
    first = _sink(lake)
    for start in (0, 100):
        first.write(lake_batch(schema, receipts[start : start + 100], start, PUBLISHED))
        first.flush()
    first.close()  # killed after the files became visible, before the acknowledgements
    clock = Clock()
    again = _sink(lake, dedup_ids=1_000, dedup_window=60.0, clock=clock)
    again.write(lake_batch(schema, receipts[50:250], 50, PUBLISHED))  # 150 redelivered, 50 new
    again.flush()
    assert again.duplicates_skipped == 150 and again.durable_batches == 1
    report = verify_lake(str(lake))
    assert report.rows == 250 and report.duplicate_ids == 0
    clock.now = 61.0  # past the window: nothing is checked any more
    again.write(lake_batch(schema, receipts[:10], 0, PUBLISHED))
    again.flush()
    assert again.duplicates_skipped == 150 and verify_lake(str(lake)).duplicate_ids == 10


def test_without_the_check_a_redelivery_is_a_duplicate(tmp_path: Path) -> None:
    schema, receipts, lake = receipt_schema(), receipts_of(100), tmp_path / "lake"
    for _ in range(2):
        sink = _sink(lake)  # dedup_ids=0: the default outside the worker's destinations
        sink.write(lake_batch(schema, receipts, 0, PUBLISHED))
        sink.flush()
        sink.close()
    assert verify_lake(str(lake)).duplicate_ids == 100


def test_only_the_newest_files_are_read_back(tmp_path: Path) -> None:
    schema, receipts, lake = receipt_schema(), receipts_of(400), tmp_path / "lake"
    first = _sink(lake)
    for start in range(0, 400, 100):
        first.write(lake_batch(schema, receipts[start : start + 100], start, PUBLISHED))
        first.flush()
    first.close()
    again = _sink(lake, dedup_ids=150)  # the two newest files (200 ids) cover 150
    again.write(lake_batch(schema, receipts, 0, PUBLISHED))
    again.flush()
    assert again.duplicates_skipped == 200  # the newest 200; the oldest two files were not read


def test_an_envelope_partly_held_gets_the_rest_and_nothing_twice(tmp_path: Path) -> None:
    """An envelope's events share a message id: a restarted sink recognises rows by id and line together."""
    import zstandard

    from streamlake_fast import Codec, Messages
    from streamlake_fast.sinks.lake import LAKE_COLUMNS

    schema, receipts, lake = receipt_schema(), receipts_of(10), tmp_path / "lake"
    marks = {"content-encoding": "zstd", "content-type": "application/x-ndjson"}
    envelope = zstandard.ZstdCompressor().compress(b"\n".join(receipts))
    events = Messages.from_parts([(envelope, marks, "env-1", PUBLISHED, "")]).opened()
    rows = Codec(schema).decode(events, metadata=list(LAKE_COLUMNS)).batch
    first = _sink(lake)
    first.write(rows.slice(0, 4))  # the crash left a file of its first four events (another partition's unwritten)
    first.flush()
    first.close()
    again = _sink(lake, dedup_ids=1_000)
    again.write(rows)  # the envelope redelivered whole
    again.flush()
    assert again.duplicates_skipped == 4
    report = verify_lake(str(lake))
    assert report.rows == 10 and report.duplicate_ids == 0
