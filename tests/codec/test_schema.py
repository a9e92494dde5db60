"""Schema: BigQuery JSON in, validation, Arrow mapping out, and back."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from streamlake_fast import Schema, SchemaError

ALL_TYPES = [
    ("STRING", pa.string()),
    ("BYTES", pa.binary()),
    ("INT64", pa.int64()),
    ("INTEGER", pa.int64()),
    ("FLOAT64", pa.float64()),
    ("FLOAT", pa.float64()),
    ("NUMERIC", pa.decimal128(38, 9)),
    ("BIGNUMERIC", pa.decimal256(76, 38)),
    ("BOOL", pa.bool_()),
    ("BOOLEAN", pa.bool_()),
    ("TIMESTAMP", pa.timestamp("us", tz="UTC")),
    ("DATE", pa.date32()),
    ("TIME", pa.time64("us")),
    ("DATETIME", pa.timestamp("us")),
    ("JSON", pa.string()),
    ("GEOGRAPHY", pa.string()),
]


@pytest.mark.parametrize(("bq_type", "arrow_type"), ALL_TYPES)
def test_type_mapping(bq_type: str, arrow_type: pa.DataType) -> None:
    schema = Schema.from_bigquery([{"name": "v", "type": bq_type}])
    assert schema.to_arrow().field("v").type == arrow_type
    assert schema.to_arrow().field("v").nullable


def test_modes_map_to_nullability_and_lists() -> None:
    schema = Schema.from_bigquery(
        [
            {"name": "r", "type": "INT64", "mode": "REQUIRED"},
            {"name": "n", "type": "INT64", "mode": "NULLABLE"},
            {"name": "l", "type": "INT64", "mode": "REPEATED"},
            {"name": "s", "type": "STRUCT", "fields": [{"name": "x", "type": "STRING", "mode": "REQUIRED"}]},
        ]
    )
    arrow = schema.to_arrow()
    assert not arrow.field("r").nullable
    assert arrow.field("n").nullable
    assert arrow.field("l").type == pa.list_(pa.field("item", pa.int64(), nullable=False))
    assert not arrow.field("l").nullable
    assert arrow.field("s").type == pa.struct([pa.field("x", pa.string(), nullable=False)])


def test_normalises_aliases_and_defaults() -> None:
    schema = Schema.from_bigquery([{"name": "a", "type": "integer"}, {"name": "b", "type": "BOOLEAN"}])
    assert schema.to_bigquery() == [
        {"name": "a", "type": "INT64", "mode": "NULLABLE"},
        {"name": "b", "type": "BOOL", "mode": "NULLABLE"},
    ]
    assert schema.names == ["a", "b"]
    assert len(schema) == 2


def test_from_path_and_object_form(tmp_path: Path) -> None:
    fields = [{"name": "a", "type": "STRING", "mode": "REQUIRED", "description": "the a"}]
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(fields))
    from_path = Schema.from_bigquery(path)
    from_str_path = Schema.from_bigquery(str(path))
    from_object = Schema.from_bigquery({"fields": fields})
    assert from_path == from_str_path == from_object
    assert from_path.to_bigquery()[0]["description"] == "the a"


def test_accepts_objects_with_to_api_repr() -> None:
    class SchemaField:  # the shape of google.cloud.bigquery.SchemaField
        def to_api_repr(self) -> dict[str, str]:
            return {"name": "a", "type": "DATE", "mode": "REQUIRED"}

    assert Schema.from_bigquery([SchemaField()]).to_bigquery() == [{"name": "a", "type": "DATE", "mode": "REQUIRED"}]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([{"name": "a", "type": "INT"}], 'field "a": unknown type "INT"'),
        ([{"name": "a", "type": "STRING", "mode": "OPTIONAL"}], 'field "a": unknown mode "OPTIONAL"'),
        (
            [{"name": "a", "type": "STRING"}, {"name": "A", "type": "INT64"}],
            'field "A": duplicate field name',
        ),
        ([{"name": "r", "type": "RECORD"}], 'field "r": RECORD needs at least one sub-field'),
        ([{"name": "s", "type": "STRING", "fields": [{"name": "x", "type": "INT64"}]}], "only RECORD fields"),
        ([{"name": "", "type": "STRING"}], "invalid name"),
        ([], "schema has no fields"),
        ([{"type": "STRING"}], "invalid schema JSON"),
    ],
)
def test_invalid_schemas_raise_schema_error(fields: list[dict[str, object]], message: str) -> None:
    with pytest.raises(SchemaError, match=None) as info:
        Schema.from_bigquery(fields)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_record_nesting_limit_is_fifteen() -> None:
    def nested(levels: int) -> list[dict[str, object]]:
        field: dict[str, object] = {"name": "leaf", "type": "INT64"}
        for i in range(levels):
            field = {"name": f"r{i}", "type": "RECORD", "fields": [field]}
        return [field]

    Schema.from_bigquery(nested(15))
    with pytest.raises(SchemaError, match="deeper than BigQuery's 15 levels"):
        Schema.from_bigquery(nested(16))


def test_from_arrow_round_trips_every_type() -> None:
    fields = [{"name": f"c{i}", "type": t, "mode": m} for i, (t, _) in enumerate(ALL_TYPES) for m in ["NULLABLE"]]
    fields.append({"name": "rep", "type": "NUMERIC", "mode": "REPEATED"})
    fields.append(
        {
            "name": "rec",
            "type": "RECORD",
            "mode": "REQUIRED",
            "fields": [{"name": "j", "type": "JSON", "mode": "REPEATED"}, {"name": "g", "type": "GEOGRAPHY"}],
        }
    )
    schema = Schema.from_bigquery(fields)
    back = Schema.from_arrow(schema.to_arrow())
    assert back == schema
    assert back.fingerprint == schema.fingerprint


def test_from_arrow_rejects_types_without_bigquery_equivalent() -> None:
    with pytest.raises(SchemaError, match="field 'm': Arrow type"):
        Schema.from_arrow(pa.schema([pa.field("m", pa.map_(pa.string(), pa.int64()))]))


def test_fingerprint_ignores_descriptions_but_not_types() -> None:
    a = Schema.from_bigquery([{"name": "a", "type": "STRING", "description": "x"}])
    b = Schema.from_bigquery([{"name": "a", "type": "STRING"}])
    c = Schema.from_bigquery([{"name": "a", "type": "BYTES"}])
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert len(a.fingerprint) == 32


def test_repr_is_readable(receipts_schema: Schema) -> None:
    assert repr(Schema.from_bigquery([{"name": "a", "type": "INT64", "mode": "REQUIRED"}])) == (
        "Schema(a INT64 REQUIRED)"
    )
    assert "items RECORD<sku STRING REQUIRED" in repr(receipts_schema)
