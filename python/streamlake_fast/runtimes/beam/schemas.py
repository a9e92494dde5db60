"""What the Beam transforms accept as a schema, in a form that travels to the workers (plain JSON fields)."""

from __future__ import annotations

from typing import Any, Union

from streamlake_fast.codec.schema import Schema, SchemaSource

__all__ = ["SchemaLike", "fields_of"]

#: A :class:`~streamlake_fast.Schema`, BigQuery JSON fields, or a path to a JSON schema file.
SchemaLike = Union[Schema, SchemaSource]  # noqa: UP007 (a runtime alias on Python 3.10)


def fields_of(schema: SchemaLike) -> list[Any]:
    """``schema`` as BigQuery JSON fields (validated here, at pipeline construction)."""
    return list((schema if isinstance(schema, Schema) else Schema.from_bigquery(schema)).to_bigquery())
