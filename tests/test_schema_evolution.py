"""Which schema changes a running worker follows, and which new columns a batch's events call for."""

from __future__ import annotations

import json

import pytest

from streamlake_fast.schema_evolution import Inference, added_columns, narrowing, relax, widen_for_events

BASE = [
    {"name": "id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "items", "type": "RECORD", "mode": "REPEATED",
     "fields": [{"name": "sku", "type": "STRING", "mode": "NULLABLE"}]},
]  # fmt: skip


def widen(*events: object, **options: object) -> tuple[list[dict[str, object]], list[str]]:
    return widen_for_events(BASE, [json.dumps(e).encode() for e in events], Inference(**options))  # type: ignore[arg-type]


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
    fields, added = widen_for_events(BASE, events, Inference())
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
