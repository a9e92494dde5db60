"""The events' schema for a set of destinations: a given schema file, the table's columns minus the metadata
columns, or both checked against each other; the table created first when asked."""

from __future__ import annotations

from streamlake_fast.destinations.model import Destinations
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.messages import METADATA_BIGQUERY_TYPES
from streamlake_fast.names import parse_table
from streamlake_fast.schema import Schema
from streamlake_fast.schema_evolution import narrowing

__all__ = ["events_schema", "resolve_schemas", "split_metadata", "table_schema"]


def table_schema(table: str) -> Schema:
    """The table's schema, fetched once from BigQuery."""
    from streamlake_fast.endpoints import bigquery_client

    project, dataset, name = parse_table(table)
    try:
        fields = bigquery_client(project).get_table(f"{project}.{dataset}.{name}").schema
    except Exception as e:  # NotFound, Forbidden, connection errors: all fatal at start-up
        raise ConfigError(f"cannot read the schema of table {table}: {e}") from e
    return Schema.from_bigquery(list(fields))


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


def resolve_schemas(d: Destinations, events: Schema | None = None) -> tuple[Schema, Schema | None]:
    """(the events' schema, the table's full schema or None without a table); ``events``: held by the caller."""
    if not d.table:
        if events is not None:
            return events, None
        assert d.schema is not None
        return Schema.from_bigquery(d.schema), None
    if d.create_table.enabled:
        from streamlake_fast.tables import create_table

        assert d.schema is not None
        create_table(d.table, Schema.from_bigquery(d.schema), d.create_table, d.lake.partition_by)
    full = table_schema(d.table)
    data_schema, _ = split_metadata(full)
    given = events if events is not None else Schema.from_bigquery(d.schema) if d.schema else None
    if given is not None:
        _check_given_schema(given, data_schema, d.table)
    return data_schema, full


def events_schema(table: str, given: str | None = None, *, full: Schema | None = None) -> Schema:
    """The events' schema for ``table``: its columns minus the metadata columns; a ``given`` schema file must
    match them (raises :class:`ConfigError` naming each differing column)."""
    data_schema, _ = split_metadata(full or table_schema(table))
    if given:
        _check_given_schema(Schema.from_bigquery(given), data_schema, table)
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
