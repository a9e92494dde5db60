"""Which schema changes a running worker follows, and which new columns a batch's events call for."""

from __future__ import annotations

import json

import pytest

from streamlake_fast.codec.evolution import Inference, added_columns, narrowing, relax, widen_for_events

BASE = [
    {"name": "id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "items", "type": "RECORD", "mode": "REPEATED",
     "fields": [{"name": "sku", "type": "STRING", "mode": "NULLABLE"}]},
]  # fmt: skip


def widen(*events: object, **options: object) -> tuple[list[dict[str, object]], list[str]]:
    fields, added, _ = widen_for_events(BASE, [json.dumps(e).encode() for e in events], Inference(**options))  # type: ignore[arg-type]
    return fields, added  # type: ignore[return-value]


def refused(*events: object, **options: object) -> tuple[list[str], dict[str, str]]:
    _, added, refusals = widen_for_events(BASE, [json.dumps(e).encode() for e in events], Inference(**options))  # type: ignore[arg-type]
    return added, refusals


def test_each_json_type_gets_its_column_type() -> None:
    fields, added = widen({"id": "a", "s": "x", "i": 3, "f": 1.5, "b": True, "big": 2**70, "o": {"k": 1},
                           "tags": ["a"], "n": None, "e": [], "aa": [[1]]})  # fmt: skip
    by = {f["name"]: f for f in fields}
    assert added == ["s", "i", "f", "b", "big", "o", "tags"]  # null, [] and [[…]] tell no type
    assert [(by[n]["type"], by[n]["mode"]) for n in added] == [
        ("STRING", "NULLABLE"), ("INT64", "NULLABLE"), ("FLOAT64", "NULLABLE"), ("BOOL", "NULLABLE"),
        ("FLOAT64", "NULLABLE"), ("RECORD", "NULLABLE"), ("STRING", "REPEATED")]  # fmt: skip
    assert by["o"]["fields"] == [{"name": "k", "type": "INT64", "mode": "NULLABLE"}]
    assert fields[:2] == BASE  # existing columns untouched


def test_numbers_and_objects_as_configured() -> None:
    fields, _ = widen({"id": "a", "f": 1.5, "o": {"k": 1}}, numbers="NUMERIC", objects="JSON")
    assert [(f["name"], f["type"]) for f in fields[2:]] == [("f", "NUMERIC"), ("o", "JSON")]


def test_new_fields_inside_records_and_repeated_records() -> None:
    fields, added = widen({"id": "a", "items": [{"sku": "s"}, {"sku": "t", "gift": True}]})
    assert added == ["items.gift"]
    assert fields[1]["fields"][-1] == {"name": "gift", "type": "BOOL", "mode": "NULLABLE"}


def test_a_conflicting_value_never_changes_an_existing_column() -> None:
    fields, added = widen({"id": 5, "items": "not a list"})
    assert added == [] and fields == BASE


def test_types_from_a_newer_schema_win_and_undeclared_fields_are_left_out() -> None:
    newer = [*BASE, {"name": "tier", "type": "STRING", "mode": "REQUIRED"}, {"name": "ts", "type": "TIMESTAMP"}]
    fields, added = widen({"id": "a", "tier": "gold", "ts": "2026-11-26T10:00:00Z", "other": 1}, types_from=newer)
    assert added == ["tier", "ts"]
    assert fields[2:] == [{"name": "tier", "type": "STRING", "mode": "NULLABLE"},  # added NULLABLE, always
                          {"name": "ts", "type": "TIMESTAMP", "mode": "NULLABLE"}]  # fmt: skip


def test_one_column_per_new_key_across_events_and_bad_json_skipped() -> None:
    events = [b"{not json", b'{"id": "a", "tier": "x"}', b'{"id": "b", "tier": "y", "n": 1}']
    fields, added, _ = widen_for_events(BASE, events, Inference())
    assert added == ["tier", "n"] and len(fields) == 4


def test_relax_named_required_columns_only() -> None:
    fields, relaxed = relax(BASE, ["id", "items.sku", "nope"])
    assert relaxed == ["id"] and fields[0]["mode"] == "NULLABLE" and BASE[0]["mode"] == "REQUIRED"


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        ([BASE[1]], "column 'id' was dropped"),
        ([{**BASE[0], "type": "INT64"}, BASE[1]], "column 'id' changed type from STRING to INT64"),
        ([{**BASE[0], "mode": "REPEATED"}, BASE[1]], "column 'id' changed mode from REQUIRED to REPEATED"),
        ([*BASE, {"name": "x", "type": "INT64", "mode": "REQUIRED"}], "new column 'x' is REQUIRED"),
        ([BASE[0], {**BASE[1], "fields": []}], "column 'items.sku' was dropped"),
    ],
)
def test_narrowing_changes_are_named(new: list[dict[str, object]], problem: str) -> None:
    assert narrowing(BASE, new) == [problem]


def test_widening_changes_pass() -> None:
    wider = [{**BASE[0], "mode": "NULLABLE"},
             {**BASE[1], "fields": [*BASE[1]["fields"], {"name": "q", "type": "INT64", "mode": "NULLABLE"}]},  # type: ignore[list-item]
             {"name": "t", "type": "STRING", "mode": "REPEATED"}]  # fmt: skip
    assert narrowing(BASE, wider) == []
    assert added_columns(BASE, wider) == ["items.q", "t"]


@pytest.mark.parametrize("name", ["publish_time", "attributes", "message_id", "subscription_name", "Publish_Time"])
def test_a_metadata_columns_name_is_never_added(name: str) -> None:
    """A table with an inferred STRING ``publish_time`` could never be opened again (split_metadata refuses it)."""
    added, refusals = refused({"id": "a", name: "2026-01-01", "ok": 1})
    assert added == ["ok"]
    assert refusals == {name: f"{name!r} is a metadata column's name"}


def test_only_names_bigquery_the_lake_and_iceberg_accept_are_added() -> None:
    long = "x" * 301
    event = {"id": "a", "": 1, "two words": 1, "new\nline": 1, "_PARTITIONTIME": 1, "_table_suffix": 1, "9lives": 1,
             "Id": 2, "caf\u00e9": 1, long: 1, "fine_name_2": 1}  # fmt: skip
    added, refusals = refused(event)
    assert added == ["fine_name_2"]
    assert refusals[""] == "'' is not a column name (letters, digits and _, starting with a letter or _)"
    assert "starting with a letter" in refusals["two words"] and "starting with a letter" in refusals["new\nline"]
    assert refusals["_PARTITIONTIME"] == "'_PARTITIONTIME' starts with '_PARTITION', which BigQuery reserves"
    assert "'_TABLE_'" in refusals["_table_suffix"] and "starting with a letter" in refusals["9lives"]
    assert refusals["Id"] == "'Id' differs from column 'id' only in case"
    assert "starting with a letter" in refusals["caf\u00e9"]
    assert refusals[long] == "a column name of 301 characters (at most 300)"


def test_nesting_beyond_fifteen_levels_is_refused() -> None:
    deep: dict[str, object] = {"leaf": 1}
    for i in range(20):
        deep = {f"l{i}": deep}
    added, refusals = refused({"id": "a", "nest": deep})
    assert added == []
    assert list(refusals.values()) == ["a RECORD nested deeper than 15 levels"]


def test_new_columns_per_change_and_per_table_are_capped() -> None:
    added, refusals = refused({"id": "a", **{f"k{i}": i for i in range(30)}}, max_new_columns=10)
    assert added == [f"k{i}" for i in range(10)]
    assert refusals["k10"] == "over 10 new columns in one change (schema_update.max_new_columns)"
    assert len(refusals) == 20
    added, refusals = refused({"id": "a", **{f"k{i}": i for i in range(30)}}, max_columns=5)
    assert added == ["k0", "k1"]  # every field counts, nested ones too: id, items, items.sku and two more
    assert refusals["k3"] == "the table would have over 5 columns (schema_update.max_columns)"
