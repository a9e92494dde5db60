"""Columns of mostly distinct values are written without a Parquet dictionary; repeating ones keep it; judged on
a file's first rows, before the first file and again every RELEARN files."""

from __future__ import annotations

import decimal
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streamlake_fast import Schema
from streamlake_fast.sinks.lake import LakeSink, lake_schema
from streamlake_fast.sinks.lake.dictionaries import MIN_SAMPLE_ROWS, RELEARN, Dictionaries, leaves
from tests.sinks.lake.helpers import lake_batch, read_lake, visible_files

SCHEMA = Schema.from_bigquery([
    {"name": "id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "kind", "type": "STRING", "mode": "REQUIRED"},
    {"name": "items", "type": "RECORD", "mode": "REPEATED", "fields": [
        {"name": "sku", "type": "STRING", "mode": "REQUIRED"},
        {"name": "serial", "type": "INT64", "mode": "REQUIRED"}]},
])  # fmt: skip
KINDS = ["sale", "refund", "void"]
PUBLISHED = 1_795_000_000_000_000


def _batch(n: int, first: int = 1, *, repeat_ids: bool = False) -> pa.RecordBatch:
    events = [json.dumps({"id": f"order-{(i % 7) if repeat_ids else i:08d}", "kind": KINDS[i % 3],
                          "items": [{"sku": f"sku-{i % 5}", "serial": i * 7919}]}).encode()
              for i in range(first, first + n)]  # fmt: skip
    return lake_batch(SCHEMA, events, first, PUBLISHED)


def _with_dictionary(file: Path) -> dict[str, bool]:
    group = pq.read_metadata(file).row_group(0)
    return {group.column(i).path_in_schema: group.column(i).has_dictionary_page for i in range(group.num_columns)}


def test_distinct_columns_are_written_plain_and_repeating_ones_keep_a_dictionary(tmp_path: Path) -> None:
    sink = LakeSink(str(tmp_path), schema=lake_schema(SCHEMA.to_arrow()))
    for first in range(1, 5_000, 1_000):
        sink.write(_batch(1_000, first))
    sink.flush()
    [file] = visible_files(tmp_path)
    assert _with_dictionary(file) == {
        "id": False, "kind": True, "items.list.element.sku": True, "items.list.element.serial": False,
        "message_id": False, "publish_time": True, "event_index": True,
    }  # fmt: skip
    back = read_lake(tmp_path).sort_by("id")
    assert back.num_rows == 5_000 and back.column("id")[0].as_py() == "order-00000001"
    assert back.column("items")[1].as_py() == [{"sku": "sku-2", "serial": 2 * 7919}]


def test_a_first_file_too_small_to_judge_keeps_every_dictionary(tmp_path: Path) -> None:
    sink = LakeSink(str(tmp_path), schema=lake_schema(SCHEMA.to_arrow()))
    sink.write(_batch(MIN_SAMPLE_ROWS - 1))
    sink.flush()
    [file] = visible_files(tmp_path)
    assert all(_with_dictionary(file).values())


def test_the_columns_are_judged_again_every_relearn_files() -> None:
    d = Dictionaries()
    assert d.use_dictionary(_batch(10)) is True  # too few rows: judged on the next file
    plain = d.use_dictionary(_batch(2_000))
    assert isinstance(plain, list) and "kind" in plain and "id" not in plain
    for _ in range(3, RELEARN):  # the ids now repeat, but the choice stands until the RELEARN-th file
        assert "id" not in d.use_dictionary(_batch(2_000, repeat_ids=True))
    assert "id" in d.use_dictionary(_batch(2_000, repeat_ids=True))
    assert "id" not in d.plain and "message_id" in d.plain


def test_leaves_are_the_parquet_columns_with_their_values() -> None:
    rows = pa.RecordBatch.from_pydict({
        "a": pa.array([1, None], pa.int64()),
        "s": pa.array([{"x": "p", "y": [1, 2]}, None], pa.struct([("x", pa.string()), ("y", pa.list_(pa.int32()))])),
        "l": pa.array([[{"k": "q"}], []], pa.list_(pa.struct([("k", pa.string())]))),
        "m": pa.array([[("u", 1)], None], pa.map_(pa.string(), pa.int64())),
        "d": pa.array([decimal.Decimal("1.5"), None], pa.decimal128(38, 9)),
        "n": pa.array([None, None], pa.null()),
    })  # fmt: skip
    out = io.BytesIO()
    pq.write_table(pa.Table.from_batches([rows]), out)
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue())).schema
    found = list(leaves(rows))
    assert [path for path, _ in found] == [parquet.column(i).path for i in range(len(parquet))]
    assert [v.to_pylist() for _, v in found] == [[1, None], ["p", None], [1, 2], ["q"], ["u"], [1],
                                                 [decimal.Decimal("1.5"), None], [None, None]]  # fmt: skip
    assert Dictionaries().use_dictionary(rows) is True  # too few rows to judge; a null column never counts
