"""Table schemas in BigQuery's terms, compiled and validated in Rust, convertible to and from Arrow."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import pyarrow as pa

from streamlake_fast import _native

__all__ = ["BigQueryField", "Schema"]

BigQueryField = dict[str, Any]
"""One field as ``bq show --schema`` prints it: ``{"name", "type", "mode", "fields", "description"}``."""

SchemaSource = Union[Sequence[Mapping[str, Any]], Mapping[str, Any], str, "os.PathLike[str]"]

_BIGQUERY_TYPE_KEY = b"bigquery:type"


class Schema:
    """A validated BigQuery table schema.

    Build one with :meth:`from_bigquery` (the JSON that ``bq show --schema`` prints, a path to such a file, or
    ``google.cloud.bigquery.SchemaField`` objects) or :meth:`from_arrow`. Legacy type names are normalised
    (``INTEGER`` → ``INT64``, ``FLOAT`` → ``FLOAT64``, ``BOOLEAN`` → ``BOOL``, ``STRUCT`` → ``RECORD``).
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Schema) -> None:
        self._native = native

    @classmethod
    def from_bigquery(cls, fields: SchemaSource) -> Schema:
        """Compile a BigQuery schema: a list of field dicts, ``{"fields": [...]}``, or a path to a JSON file."""
        if isinstance(fields, (str, os.PathLike)):
            text = Path(fields).read_text(encoding="utf-8")
        else:
            text = json.dumps(_to_plain(fields))
        return cls(_native.Schema.from_json(text))

    @classmethod
    def from_arrow(cls, schema: pa.Schema) -> Schema:
        """The BigQuery schema whose batches have this Arrow schema (the inverse of :meth:`to_arrow`)."""
        return cls.from_bigquery([_field_from_arrow(f) for f in schema])

    def to_arrow(self) -> pa.Schema:
        """The Arrow schema of the batches a :class:`~streamlake_fast.Codec` builds for this table."""
        return pa.schema(self._native)

    def to_bigquery(self) -> list[BigQueryField]:
        """The canonical BigQuery JSON schema (normalised type names, explicit modes)."""
        fields: list[BigQueryField] = json.loads(self._native.to_json())
        return fields

    @property
    def fingerprint(self) -> str:
        """A stable hex digest of the schema's names, types and modes (descriptions excluded)."""
        return self._native.fingerprint

    @property
    def names(self) -> list[str]:
        """The top-level field names, in order."""
        return [f["name"] for f in self.to_bigquery()]

    def __len__(self) -> int:
        return len(self.to_bigquery())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schema):
            return NotImplemented
        return self._native.to_json() == other._native.to_json()

    def __hash__(self) -> int:
        return hash(self._native.to_json())

    def __repr__(self) -> str:
        cols = ", ".join(_describe(f) for f in self.to_bigquery())
        return f"Schema({cols})"

    def __arrow_c_schema__(self) -> object:
        return self._native.__arrow_c_schema__()


def _to_plain(fields: Any) -> Any:
    """Accept dicts, lists of dicts, or objects with ``to_api_repr()`` (google-cloud-bigquery SchemaField)."""
    if hasattr(fields, "to_api_repr"):
        return fields.to_api_repr()
    if isinstance(fields, Mapping):
        return {k: _to_plain(v) for k, v in fields.items()}
    if isinstance(fields, (list, tuple)):
        return [_to_plain(f) for f in fields]
    return fields


def _describe(f: BigQueryField) -> str:
    inner = ""
    if f.get("fields"):
        inner = "<" + ", ".join(_describe(c) for c in f["fields"]) + ">"
    mode = "" if f.get("mode") == "NULLABLE" else f" {f['mode']}"
    return f"{f['name']} {f['type']}{inner}{mode}"


def _field_from_arrow(field: pa.Field) -> BigQueryField:
    t = field.type
    mode = "NULLABLE" if field.nullable else "REQUIRED"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        item = _field_from_arrow(pa.field(field.name, t.value_type, True, field.metadata))
        item["mode"] = "REPEATED"
        return item
    out: BigQueryField = {"name": field.name, "type": _type_from_arrow(field), "mode": mode}
    if pa.types.is_struct(t):
        out["fields"] = [_field_from_arrow(t.field(i)) for i in range(t.num_fields)]
    return out


def _type_from_arrow(field: pa.Field) -> str:
    t = field.type
    meta = field.metadata or {}
    if _BIGQUERY_TYPE_KEY in meta:
        return str(meta[_BIGQUERY_TYPE_KEY].decode())
    checks: list[tuple[Any, str]] = [
        (pa.types.is_struct, "RECORD"),
        (lambda x: pa.types.is_string(x) or pa.types.is_large_string(x), "STRING"),
        (lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x), "BYTES"),
        (pa.types.is_integer, "INT64"),
        (pa.types.is_floating, "FLOAT64"),
        (pa.types.is_boolean, "BOOL"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_time, "TIME"),
    ]
    for check, name in checks:
        if check(t):
            return name
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz is not None else "DATETIME"
    if pa.types.is_decimal(t):
        fits_numeric = t.scale <= 9 and t.precision - t.scale <= 29
        return "NUMERIC" if fits_numeric else "BIGNUMERIC"
    raise _schema_error(f"field {field.name!r}: Arrow type {t} has no BigQuery equivalent")


def _schema_error(message: str) -> Exception:
    from streamlake_fast.exceptions import SchemaError

    return SchemaError(message)
