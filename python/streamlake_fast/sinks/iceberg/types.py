"""The Iceberg schema of the worker's rows, and the Parquet file schema that carries its field ids.

BigQuery → Iceberg (via the codec's Arrow types): STRING, JSON, GEOGRAPHY → ``string``; BYTES → ``binary``;
INT64 → ``long``; FLOAT64 → ``double``; BOOL → ``boolean``; NUMERIC → ``decimal(38, 9)``; DATE → ``date``;
TIME → ``time``; DATETIME → ``timestamp`` and TIMESTAMP → ``timestamptz`` (microseconds); RECORD → ``struct``;
REPEATED → ``list``; REQUIRED → ``required``. BIGNUMERIC (76 digits, 38 after the point) has no Iceberg decimal —
Iceberg's precision stops at 38 — so it becomes ``string``, the exact decimal text at its scale of 38
(``"12.50000000000000000000000000000000000000"``), which every reader can cast; a narrower decimal would lose digits.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.types import ListType, NestedField, StructType

__all__ = ["FIELD_ID", "arrow_for_iceberg", "file_schema", "needs_cast"]

#: The Arrow field metadata key Parquet writers turn into a field id.
FIELD_ID = b"PARQUET:field_id"


def _for_iceberg(t: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal256(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_for_iceberg(f.type)) for f in t])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(t.value_field.with_type(_for_iceberg(t.value_type)))
    return t


def arrow_for_iceberg(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the types Iceberg has no equal for replaced (BIGNUMERIC's decimal256 → string)."""
    return pa.schema([f.with_type(_for_iceberg(f.type)) for f in schema], metadata=schema.metadata)


def needs_cast(schema: pa.Schema) -> bool:
    """Whether rows of ``schema`` must be cast before they are written (a BIGNUMERIC somewhere)."""
    return not arrow_for_iceberg(schema).equals(schema)


def _with_ids(field: pa.Field, nested: NestedField) -> pa.Field:
    t, it = field.type, nested.field_type
    if pa.types.is_struct(t):
        assert isinstance(it, StructType)
        by_name = {f.name: f for f in it.fields}
        t = pa.struct([_with_ids(child, by_name[child.name]) for child in t])
    elif pa.types.is_list(t):
        assert isinstance(it, ListType)
        t = pa.list_(_with_ids(t.value_field, it.element_field))
    metadata = {**(field.metadata or {}), FIELD_ID: str(nested.field_id).encode()}
    return field.with_type(t).with_metadata(metadata)


def file_schema(schema: pa.Schema, table: IcebergSchema) -> pa.Schema:
    """The Parquet schema of the data files for rows of Arrow ``schema`` in a table of schema ``table``: Iceberg's
    types (:func:`arrow_for_iceberg`), each field carrying its field id, as readers resolve columns by id."""
    fields = []
    for f in arrow_for_iceberg(schema):
        try:
            nested = table.find_field(f.name)
        except ValueError as e:
            raise KeyError(f.name) from e
        fields.append(_with_ids(f, nested))
    return pa.schema(fields, metadata=schema.metadata)
