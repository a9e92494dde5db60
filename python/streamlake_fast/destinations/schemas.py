"""The events' schema: a given schema, a table's columns minus the metadata columns, or both checked against each
other. Pure: the table's columns are read by the caller (:func:`streamlake_fast.transports.gcp.tables.table_schema`)."""

from __future__ import annotations

from streamlake_fast.codec.evolution import narrowing
from streamlake_fast.codec.messages import METADATA_BIGQUERY_TYPES
from streamlake_fast.codec.schema import Schema
from streamlake_fast.exceptions import ConfigError

__all__ = ["events_of", "split_metadata"]


def split_metadata(schema: Schema) -> tuple[Schema, tuple[str, ...]]:
    """(the event columns, the metadata columns) of a table's schema; a metadata column of another type is refused."""
    fields = schema.to_bigquery()
    meta = []
    for f in fields:
        if f["name"] in METADATA_BIGQUERY_TYPES and f["mode"] != "REPEATED":
            allowed = METADATA_BIGQUERY_TYPES[f["name"]]
            if f["type"] not in allowed:
                raise ConfigError(f"metadata column {f['name']!r} is {f['type']}, expected one of {list(allowed)}")
            meta.append(f["name"])
    data_fields = [f for f in fields if f["name"] not in meta]
    if not data_fields:
        raise ConfigError("the table has only message metadata columns")
    return Schema.from_bigquery(data_fields), tuple(meta)


def events_of(full: Schema | None, given: Schema | None, table: str = "") -> Schema:
    """The events' schema: with a table (``full``, its columns), those minus the metadata columns, which a
    ``given`` schema must match (raises :class:`ConfigError` naming each differing column); without one, ``given``."""
    if full is None:
        if given is None:
            raise ConfigError("without a table the schema must be given: pass --schema FILE.json")
        return given
    data_schema, _ = split_metadata(full)
    if given is not None:
        _check_given_schema(given, data_schema, table)
    return data_schema


def _check_given_schema(given: Schema, table: Schema, table_name: str) -> None:
    """The given schema must be the table's, or one the table widened (columns added since, modes relaxed)."""
    if given.fingerprint == table.fingerprint or not narrowing(given.to_bigquery(), table.to_bigquery()):
        return
    want = {f["name"]: f for f in table.to_bigquery()}
    have = {f["name"]: f for f in given.to_bigquery()}
    problems = [f"column {n!r} is missing from the table" for n in have if n not in want]
    problems += [f"table column {n!r} is missing from the given schema" for n in want if n not in have]
    problems += [
        f"column {n!r}: given {have[n]['type']} {have[n]['mode']}, table has {want[n]['type']} {want[n]['mode']}"
        for n in have
        if n in want and have[n] != want[n]
    ]
    raise ConfigError(f"the given schema does not match table {table_name}: " + "; ".join(problems or ["order"]))
