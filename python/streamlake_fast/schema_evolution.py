"""How a table's schema may change under a running worker: only by widening (new NULLABLE or REPEATED columns,
REQUIRED relaxed to NULLABLE), and which new columns a batch's events call for (from a newer schema the producer
supplies, or inferred from the JSON values). Pure functions over BigQuery JSON fields; no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from streamlake_fast.schema import BigQueryField

__all__ = ["Inference", "added_columns", "narrowing", "relax", "widen_for_events"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Inference:
    """How a new column's type is chosen.

    :param types_from: a newer schema (the producer's); a new field it declares takes its type from it, and a
        new field it does not declare is left out (its events stay rejects).
    :param numbers: the type of a non-integer JSON number (and of an integer beyond INT64).
    :param objects: the type of a JSON object: a RECORD with inferred sub-fields, or one JSON column.
    """

    types_from: Sequence[BigQueryField] | None = None
    numbers: Literal["FLOAT64", "NUMERIC"] = "FLOAT64"
    objects: Literal["RECORD", "JSON"] = "RECORD"


def narrowing(old: Sequence[BigQueryField], new: Sequence[BigQueryField], prefix: str = "") -> list[str]:
    """What makes ``new`` not a widening of ``old``, one line each (empty: every ``old`` row fits ``new``, and
    every ``new`` column not in ``old`` is NULLABLE or REPEATED)."""
    problems: list[str] = []
    by_name = {f["name"]: f for f in new}
    for f in old:
        path = prefix + f["name"]
        g = by_name.get(f["name"])
        if g is None:
            problems.append(f"column {path!r} was dropped")
        elif g["type"] != f["type"]:
            problems.append(f"column {path!r} changed type from {f['type']} to {g['type']}")
        elif g["mode"] != f["mode"] and not (f["mode"] == "REQUIRED" and g["mode"] == "NULLABLE"):
            problems.append(f"column {path!r} changed mode from {f['mode']} to {g['mode']}")
        elif f["type"] == "RECORD":
            problems += narrowing(f.get("fields", []), g.get("fields", []), path + ".")
    known = {f["name"] for f in old}
    problems += [f"new column {prefix + g['name']!r} is REQUIRED" for g in new
                 if g["name"] not in known and g["mode"] == "REQUIRED"]  # fmt: skip
    return problems


def added_columns(old: Sequence[BigQueryField], new: Sequence[BigQueryField], prefix: str = "") -> list[str]:
    """Paths of the columns ``new`` has and ``old`` has not (``"a"``, ``"rec.b"``), in ``new``'s order."""
    by_name = {f["name"]: f for f in old}
    out: list[str] = []
    for g in new:
        f = by_name.get(g["name"])
        if f is None:
            out.append(prefix + g["name"])
        elif g["type"] == "RECORD" and f["type"] == "RECORD":
            out += added_columns(f.get("fields", []), g.get("fields", []), prefix + g["name"] + ".")
    return out


def relax(fields: Sequence[BigQueryField], paths: Iterable[str]) -> tuple[list[BigQueryField], list[str]]:
    """``fields`` with the REQUIRED columns at ``paths`` (``"a"``, ``"rec.b"``) made NULLABLE; and the paths that
    were relaxed."""
    out = _copy(fields)
    relaxed: list[str] = []
    for path in dict.fromkeys(paths):
        f = _find(out, path.split("."))
        if f is not None and f["mode"] == "REQUIRED":
            f["mode"] = "NULLABLE"
            relaxed.append(path)
    return out, relaxed


def widen_for_events(
    fields: Sequence[BigQueryField], events: Iterable[bytes], inference: Inference
) -> tuple[list[BigQueryField], list[str]]:
    """``fields`` plus NULLABLE (or REPEATED) columns for the keys of ``events`` they lack, at any depth inside
    RECORD columns; and the paths added. Existing columns are never changed: a value that conflicts with one stays
    a reject. Keys whose type cannot be told (null, empty arrays, arrays of arrays, a field the newer schema lacks)
    are left out."""
    out = _copy(fields)
    added: list[str] = []
    for data in events:
        try:
            event = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(event, dict):
            _widen(out, event, inference, inference.types_from, "", added)
    return out, added


def _widen(
    fields: list[BigQueryField],
    obj: Mapping[str, Any],
    inference: Inference,
    declared: Sequence[BigQueryField] | None,
    prefix: str,
    added: list[str],
) -> None:
    by_name = {f["name"]: f for f in fields}
    declared_by_name = {f["name"]: f for f in declared} if declared is not None else None
    for key, value in obj.items():
        f = by_name.get(key)
        if f is None:
            new = _new_field(key, value, inference, declared_by_name)
            if new is not None:
                fields.append(new)
                by_name[key] = new
                added.append(prefix + key)
            continue
        if f["type"] != "RECORD":
            continue
        sub = None if declared_by_name is None else declared_by_name.get(key, {}).get("fields", [])
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                _widen(f.setdefault("fields", []), item, inference, sub, prefix + key + ".", added)


def _new_field(
    name: str, value: Any, inference: Inference, declared: Mapping[str, BigQueryField] | None
) -> BigQueryField | None:
    if declared is not None:
        d = declared.get(name)
        return None if d is None else {**_copy([d])[0], "mode": "REPEATED" if d.get("mode") == "REPEATED" else
                                       "NULLABLE"}  # fmt: skip
    if isinstance(value, list):
        element = next((v for v in value if v is not None), None)
        if element is None or isinstance(element, list):
            return None
        inner = _new_field(name, element, inference, None)
        return None if inner is None else {**inner, "mode": "REPEATED"}
    t = _json_type(value, inference)
    if t is None:
        return None
    field: BigQueryField = {"name": name, "type": t, "mode": "NULLABLE"}
    if t == "RECORD":
        sub: list[BigQueryField] = []
        _widen(sub, value, inference, None, "", [])
        if not sub:
            return None  # BigQuery refuses a RECORD without fields
        field["fields"] = sub
    return field


def _json_type(value: Any, inference: Inference) -> str | None:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64" if _INT64_MIN <= value <= _INT64_MAX else inference.numbers
    if isinstance(value, float):
        return inference.numbers
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, dict):
        return inference.objects
    return None  # null: no type to infer


def _find(fields: list[BigQueryField], parts: list[str]) -> BigQueryField | None:
    for f in fields:
        if f["name"] == parts[0]:
            return f if len(parts) == 1 else _find(f.get("fields", []), parts[1:])
    return None


def _copy(fields: Sequence[BigQueryField]) -> list[BigQueryField]:
    copied: list[BigQueryField] = json.loads(json.dumps(list(fields)))
    return copied
