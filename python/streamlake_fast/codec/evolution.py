"""How a table's schema may change under a running worker: only by widening (new NULLABLE or REPEATED columns,
REQUIRED relaxed to NULLABLE), and which new columns a batch's events call for (from a newer schema the producer
supplies, or inferred from the JSON values). Pure functions over BigQuery JSON fields; no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from streamlake_fast.codec.messages import METADATA_BIGQUERY_TYPES
from streamlake_fast.codec.schema import BigQueryField

__all__ = ["Inference", "Widening", "added_columns", "column_count", "narrowing", "relax", "widen_for_events"]

#: A column name the worker may add: what BigQuery, Parquet and Iceberg all hold as is (letters, digits and
#: underscores, starting with a letter or an underscore; BigQuery's limit of 300 characters).
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME_LENGTH = 300
#: Prefixes BigQuery reserves for its own columns (compared without case).
RESERVED_PREFIXES = ("_TABLE_", "_FILE_", "_PARTITION", "_ROW_TIMESTAMP", "__ROOT__", "_COLIDENTIFIER",
                     "_CHANGE_SEQUENCE_NUMBER", "_CHANGE_TYPE", "_CHANGE_TIMESTAMP")  # fmt: skip
#: BigQuery's deepest RECORD nesting.
MAX_RECORD_DEPTH = 15
_METADATA_NAMES = {name.lower() for name in METADATA_BIGQUERY_TYPES}

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
    #: new columns one change adds at most (the rest stay rejects until a later change has room)
    max_new_columns: int = 50
    #: columns the table may reach, nested fields included (BigQuery's own cap is 10,000)
    max_columns: int = 2000


class Widening(NamedTuple):
    """What :func:`widen_for_events` made: the new ``fields``, the paths ``added``, and the paths ``refused`` with
    the reason each was not added (their events stay rejects)."""

    fields: list[BigQueryField]
    added: list[str]
    refused: dict[str, str]


def column_count(fields: Sequence[BigQueryField]) -> int:
    """Columns as BigQuery counts them toward its cap: every field, nested ones included."""
    return sum(1 + column_count(f.get("fields", [])) for f in fields)


def name_problem(name: str, siblings: Mapping[str, str], depth: int) -> str | None:
    """Why ``name`` cannot be added beside ``siblings`` (their lower-case names → names) at nesting ``depth``
    (0: a top-level column); None when it can."""
    if len(name) > MAX_NAME_LENGTH:
        return f"a column name of {len(name)} characters (at most {MAX_NAME_LENGTH})"
    if not _COLUMN_NAME.fullmatch(name):
        return f"{name!r} is not a column name (letters, digits and _, starting with a letter or _)"
    upper = name.upper()
    reserved = next((p for p in RESERVED_PREFIXES if upper.startswith(p)), None)
    if reserved is not None:
        return f"{name!r} starts with {reserved!r}, which BigQuery reserves"
    if depth == 0 and name.lower() in _METADATA_NAMES:
        return f"{name!r} is a metadata column's name"
    other = siblings.get(name.lower())
    if other is not None:
        return f"{name!r} differs from column {other!r} only in case"
    return None


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


def widen_for_events(fields: Sequence[BigQueryField], events: Iterable[bytes], inference: Inference) -> Widening:
    """``fields`` plus NULLABLE (or REPEATED) columns for the keys of ``events`` they lack, at any depth inside
    RECORD columns; the paths added; and the keys refused, with why: a name BigQuery, the lake or Iceberg would not
    take (see :func:`name_problem`), a RECORD deeper than BigQuery's 15 levels, or over ``inference``'s caps.
    Existing columns are never changed: a value that conflicts with one stays a reject. Keys whose type cannot be
    told (null, empty arrays, arrays of arrays, a field the newer schema lacks) are left out."""
    state = _Widen(inference, _copy(fields))
    for data in events:
        try:
            event = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(event, dict):
            state.widen(state.fields, event, inference.types_from, "", 0)
    return Widening(state.fields, state.added, state.refused)


@dataclass
class _Widen:
    inference: Inference
    fields: list[BigQueryField]
    added: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.columns = column_count(self.fields)

    def widen(
        self, fields: list[BigQueryField], obj: Mapping[str, Any], declared: Sequence[BigQueryField] | None,
        prefix: str, depth: int,
    ) -> None:  # fmt: skip
        """Adds to ``fields`` (at RECORD ``depth``; 0 at the top) a column for each of ``obj``'s keys it lacks."""
        by_name = {f["name"]: f for f in fields}
        lower = {f["name"].lower(): f["name"] for f in fields}
        declared_by_name = {f["name"]: f for f in declared} if declared is not None else None
        for key, value in obj.items():
            f = by_name.get(key)
            if f is None:
                new = self._admit(key, value, lower, declared_by_name, prefix, depth)
                if new is not None:
                    fields.append(new)
                    by_name[key], lower[key.lower()] = new, key
                    self.added.append(prefix + key)
                continue
            if f["type"] != "RECORD":
                continue
            sub = None if declared_by_name is None else declared_by_name.get(key, {}).get("fields", [])
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    self.widen(f.setdefault("fields", []), item, sub, prefix + key + ".", depth + 1)

    def _admit(
        self, key: str, value: Any, siblings: Mapping[str, str], declared: Mapping[str, BigQueryField] | None,
        prefix: str, depth: int,
    ) -> BigQueryField | None:  # fmt: skip
        """The new column for ``key``, within the name rules and the caps; None (with the reason kept) if not."""
        path = prefix + key
        if path in self.refused:
            return None
        problem = name_problem(key, siblings, depth)
        if problem is None and len(self.added) >= self.inference.max_new_columns:
            problem = f"over {self.inference.max_new_columns} new columns in one change (schema_update.max_new_columns)"
        if problem is not None:
            self.refused[path] = problem
            return None
        new = self._new_field(key, value, declared, path, depth)
        if new is None:
            return None
        size = column_count([new])
        if self.columns + size > self.inference.max_columns:
            self.refused[path] = f"the table would have over {self.inference.max_columns} columns " \
                                 "(schema_update.max_columns)"  # fmt: skip
            return None
        self.columns += size
        return new

    def _new_field(
        self, name: str, value: Any, declared: Mapping[str, BigQueryField] | None, path: str, depth: int
    ) -> BigQueryField | None:
        if declared is not None:
            d = declared.get(name)
            return None if d is None else {**_copy([d])[0], "mode": "REPEATED" if d.get("mode") == "REPEATED" else
                                           "NULLABLE"}  # fmt: skip
        if isinstance(value, list):
            element = next((v for v in value if v is not None), None)
            if element is None or isinstance(element, list):
                return None
            inner = self._new_field(name, element, None, path, depth)
            return None if inner is None else {**inner, "mode": "REPEATED"}
        t = _json_type(value, self.inference)
        if t is None:
            return None
        column: BigQueryField = {"name": name, "type": t, "mode": "NULLABLE"}
        if t == "RECORD":
            if depth + 1 > MAX_RECORD_DEPTH:
                self.refused[path] = f"a RECORD nested deeper than {MAX_RECORD_DEPTH} levels"
                return None
            sub: list[BigQueryField] = []
            inner_state = _Widen(self.inference, sub)
            inner_state.widen(sub, value, None, path + ".", depth + 1)
            self.refused.update(inner_state.refused)
            if not sub:
                return None  # BigQuery refuses a RECORD without fields
            column["fields"] = sub
        return column


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
