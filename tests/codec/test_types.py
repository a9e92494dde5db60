"""Every BigQuery type: what JSON it accepts (checked against pyarrow-built expected arrays) and what it rejects."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from tests.conftest import one_field

UTC = timezone.utc
RAW_BYTES = bytes([0, 255]) + b"hi"

ACCEPTED = {
    "STRING": [('"plain"', "plain"), (r'"tab\tquote\"é\u00e9\ud83d\ude00"', 'tab\tquote"éé😀'), ('""', "")],
    "BYTES": [('"' + base64.b64encode(RAW_BYTES).decode() + '"', RAW_BYTES), ('"aGk"', b"hi"), ('""', b"")],
    "INT64": [
        ("0", 0),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775807", 2**63 - 1),
        ('"42"', 42),
        ('"-7"', -7),
    ],
    "FLOAT64": [
        ("1.5", 1.5),
        ("-0.0", -0.0),
        ("1e300", 1e300),
        ("3", 3.0),
        ('"Infinity"', math.inf),
        ('"-Infinity"', -math.inf),
        ('"2.25"', 2.25),
    ],
    "NUMERIC": [
        ("91.11", Decimal("91.11")),
        ('"-0.000000001"', Decimal("-0.000000001")),
        ("99999999999999999999999999999.999999999", Decimal("99999999999999999999999999999.999999999")),
        ("1.5e3", Decimal("1500")),
        ("0.10000000000000000000", Decimal("0.1")),
        ('"12"', Decimal("12")),
    ],
    "BIGNUMERIC": [
        ('"0.00000000000000000000000000000000000001"', Decimal("1E-38")),
        ('"-12345678901234567890123456789012345678.5"', Decimal("-12345678901234567890123456789012345678.5")),
        ("2.5", Decimal("2.5")),
    ],
    "BOOL": [("true", True), ("false", False)],
    "TIMESTAMP": [
        ('"2026-11-26T10:15:42.123456Z"', datetime(2026, 11, 26, 10, 15, 42, 123456, UTC)),
        ('"2026-11-26 10:15:42"', datetime(2026, 11, 26, 10, 15, 42, tzinfo=UTC)),
        ('"2026/11/26 10:15:42"', datetime(2026, 11, 26, 10, 15, 42, tzinfo=UTC)),  # BigQuery allows '/' here
        ('"2026-11-26T12:15:42.5+02:00"', datetime(2026, 11, 26, 10, 15, 42, 500000, UTC)),
        ('"2026-11-26T00:15:00-01:30"', datetime(2026, 11, 26, 1, 45, tzinfo=UTC)),
        ('"0001-01-01T00:00:00Z"', datetime(1, 1, 1, tzinfo=UTC)),
        ('"9999-12-31T23:59:59.999999Z"', datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)),
    ],
    "DATE": [('"2024-02-29"', date(2024, 2, 29)), ('"0001-01-01"', date(1, 1, 1))],
    "TIME": [('"23:59:59.999999"', time(23, 59, 59, 999999)), ('"00:00:00"', time(0))],
    "DATETIME": [
        ('"2026-11-26T10:15:42.1"', datetime(2026, 11, 26, 10, 15, 42, 100000)),
        ('"2026-11-26 10:15:42"', datetime(2026, 11, 26, 10, 15, 42)),
    ],
    "JSON": [
        ('{ "a" : [1, 2.50, "x"], "b": {"c": null} }', '{"a":[1,2.50,"x"],"b":{"c":null}}'),
        ('"text"', '"text"'),
        ("[ ]", "[]"),
        ("-1e5", "-1e5"),
        (r'"esc\"aped\u00e9"', r'"esc\"aped\u00e9"'),
    ],
    "GEOGRAPHY": [('"POINT(-122.35 47.62)"', "POINT(-122.35 47.62)")],
}

REJECTED = {
    "STRING": [("1", "type_mismatch"), ("true", "type_mismatch"), ("{}", "type_mismatch")],
    "BYTES": [('"not base64!"', "invalid_value"), ("12", "type_mismatch")],
    "INT64": [
        ("1.5", "invalid_value"),
        ("1e3", "invalid_value"),
        ("1.0", "invalid_value"),
        ("9223372036854775808", "out_of_range"),
        ('"-9223372036854775809"', "out_of_range"),
        ('"12a"', "invalid_value"),
        ('"1.0"', "invalid_value"),
        ("true", "type_mismatch"),
        ("[1]", "type_mismatch"),
    ],
    "FLOAT64": [("1e400", "out_of_range"), ('"nan"', "invalid_value"), ("false", "type_mismatch")],
    "NUMERIC": [
        ("0.0000000001", "out_of_range"),
        ("100000000000000000000000000000", "out_of_range"),
        ('"1.2.3"', "invalid_value"),
        ('"NaN"', "invalid_value"),
        ("true", "type_mismatch"),
    ],
    "BIGNUMERIC": [
        ('"0.000000000000000000000000000000000000001"', "out_of_range"),
        ('"123456789012345678901234567890123456789"', "out_of_range"),
    ],
    "BOOL": [('"true"', "type_mismatch"), ("1", "type_mismatch")],
    "TIMESTAMP": [
        ('"2026-02-29T00:00:00Z"', "invalid_value"),
        ('"2026-11-26"', "invalid_value"),
        ('"2026/11-26 10:15:42"', "invalid_value"),
        ('"2026-11-26T10:15:42.1234567Z"', "invalid_value"),
        ('"2026-11-26T25:00:00Z"', "invalid_value"),
        ('"2026-11-26T10:00:00+25:00"', "invalid_value"),
        ('"0001-01-01T00:00:00+00:01"', "out_of_range"),
        ('"0000-12-31T00:00:00Z"', "out_of_range"),
        ("1732615000", "type_mismatch"),
    ],
    "DATE": [
        ('"2026-11-31"', "invalid_value"),
        ('"26-11-2026"', "invalid_value"),
        ('"2026/11/26"', "invalid_value"),  # '/' only in a TIMESTAMP (BigQuery's JSON loading rules)
        ("20261126", "type_mismatch"),
    ],
    "TIME": [('"24:00:00"', "invalid_value"), ('"12:00"', "invalid_value")],
    "DATETIME": [
        ('"2026-11-26T10:15:42Z"', "invalid_value"),
        ('"2026-11-26"', "invalid_value"),
        ('"2026/11/26 10:15:42"', "invalid_value"),
    ],
    "JSON": [('{"a":1,"a":2}', "duplicate_key"), ("[1,]", "invalid_json"), ("NaN", "invalid_json")],
    "GEOGRAPHY": [("{}", "type_mismatch")],
}

ARROW = {
    "STRING": pa.string(),
    "BYTES": pa.binary(),
    "INT64": pa.int64(),
    "FLOAT64": pa.float64(),
    "NUMERIC": pa.decimal128(38, 9),
    "BIGNUMERIC": pa.decimal256(76, 38),
    "BOOL": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
    "TIME": pa.time64("us"),
    "DATETIME": pa.timestamp("us"),
    "JSON": pa.string(),
    "GEOGRAPHY": pa.string(),
}


@pytest.mark.parametrize("bq_type", sorted(ACCEPTED))
def test_accepted_values_equal_pyarrow(bq_type: str) -> None:
    cases = ACCEPTED[bq_type]
    result = one_field(bq_type).decode([f'{{"v": {text}}}'.encode() for text, _ in cases] + [b'{"v": null}', b"{}"])
    assert result.rejects == []
    expected = pa.array([value for _, value in cases] + [None, None], type=ARROW[bq_type])
    assert result.batch.column(0).equals(expected), (result.batch.column(0), expected)


@pytest.mark.parametrize(
    ("bq_type", "text", "code"),
    [(t, text, code) for t, cases in sorted(REJECTED.items()) for text, code in cases],
)
def test_rejected_values(bq_type: str, text: str, code: str) -> None:
    result = one_field(bq_type).decode([f'{{"v": {text}}}'.encode()])
    assert result.batch.num_rows == 0
    assert [(r.index, r.code) for r in result.rejects] == [(0, code)], result.rejects
    assert result.rejects[0].path.startswith("v")


def test_nan_float_is_accepted() -> None:
    result = one_field("FLOAT64").decode([b'{"v": "NaN"}'])
    assert math.isnan(result.batch.column(0)[0].as_py())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.5", 'expected an INT64, got "1.5" (no fraction or exponent allowed)'),
        ("9223372036854775808", '"9223372036854775808" is out of range for INT64'),
        ('"x"', 'expected an INT64, got "x"'),
        ("{}", "expected INT64, got an object"),
    ],
)
def test_int64_messages(text: str, message: str) -> None:
    result = one_field("INT64").decode([f'{{"v": {text}}}'.encode()])
    assert result.rejects[0].message == message


def test_numeric_is_exact_not_rounded() -> None:
    result = one_field("NUMERIC").decode([b'{"v": 0.1}', b'{"v": 0.3}', b'{"v": 1.123456789}'])
    assert result.batch.column(0).to_pylist() == [Decimal("0.1"), Decimal("0.3"), Decimal("1.123456789")]
    rejected = one_field("NUMERIC").decode([b'{"v": 1.1234567891}'])
    assert rejected.rejects[0].message == (
        '"1.1234567891" has more than 9 fractional digits for NUMERIC (values are never rounded)'
    )


@pytest.mark.parametrize("bq_type", ["INT64", "STRING", "RECORD"])
def test_required_missing_or_null(bq_type: str) -> None:
    fields = [{"name": "x", "type": "STRING"}] if bq_type == "RECORD" else []
    schema_field = {"name": "v", "type": bq_type, "mode": "REQUIRED", "fields": fields}
    from streamlake_fast import Codec, Schema

    codec = Codec(Schema.from_bigquery([schema_field, {"name": "other", "type": "STRING"}]))
    result = codec.decode([b'{"other": "a"}', b'{"v": null}'])
    assert [(r.index, r.code, r.path, r.message) for r in result.rejects] == [
        (0, "missing_required", "v", "required field is missing"),
        (1, "missing_required", "v", "required field is null"),
    ]


def test_repeated_null_or_missing_is_empty_list_and_null_element_rejected() -> None:
    codec = one_field("INT64", "REPEATED")
    result = codec.decode([b'{"v": [1, 2]}', b'{"v": null}', b"{}", b'{"v": []}', b'{"v": [1, null]}', b'{"v": 1}'])
    assert result.batch.column(0).to_pylist() == [[1, 2], [], [], []]
    assert [(r.index, r.code, r.path) for r in result.rejects] == [
        (4, "null_element", "v[1]"),
        (5, "type_mismatch", "v"),
    ]


def test_nested_records_and_repeated_records() -> None:
    from streamlake_fast import Codec, Schema

    schema = Schema.from_bigquery(
        [
            {
                "name": "order",
                "type": "RECORD",
                "fields": [
                    {"name": "id", "type": "INT64", "mode": "REQUIRED"},
                    {
                        "name": "lines",
                        "type": "RECORD",
                        "mode": "REPEATED",
                        "fields": [
                            {"name": "sku", "type": "STRING", "mode": "REQUIRED"},
                            {"name": "tags", "type": "STRING", "mode": "REPEATED"},
                        ],
                    },
                ],
            }
        ]
    )
    messages = [
        b'{"order": {"id": 1, "lines": [{"sku": "a", "tags": ["x", "y"]}, {"sku": "b"}]}}',
        b'{"order": null}',
        b'{"order": {"id": 2, "lines": [{"sku": "c", "tags": ["z", 3]}]}}',
        b"{}",
    ]
    result = Codec(schema).decode(messages)
    assert [(r.index, r.code, r.path) for r in result.rejects] == [(2, "type_mismatch", "order.lines[0].tags[1]")]
    expected = pa.Table.from_pylist(
        [
            {"order": {"id": 1, "lines": [{"sku": "a", "tags": ["x", "y"]}, {"sku": "b", "tags": []}]}},
            {"order": None},
            {"order": None},
        ],
        schema=schema.to_arrow(),
    )
    assert pa.Table.from_batches([result.batch]).equals(expected)
    result.batch.validate(full=True)


def test_parameterized_types_are_enforced_per_row_as_bigquery_does() -> None:
    from streamlake_fast import Codec, Schema

    schema = Schema.from_bigquery([
        {"name": "code", "type": "STRING", "maxLength": "5"},
        {"name": "raw", "type": "BYTES", "maxLength": "3"},
        {"name": "price", "type": "NUMERIC", "precision": "5", "scale": "2"},
        {"name": "even", "type": "NUMERIC", "precision": "5", "scale": "2", "roundingMode": "ROUND_HALF_EVEN"},
        {"name": "big", "type": "BIGNUMERIC", "precision": "40", "scale": "4"},
    ])  # fmt: skip
    assert schema.to_bigquery()[0]["maxLength"] == "5" and schema.to_bigquery()[2]["precision"] == "5"
    assert schema.fingerprint != Schema.from_bigquery([{**f, "maxLength": None} if f["name"] == "code" else f
                                                       for f in schema.to_bigquery()]).fingerprint  # fmt: skip
    rows = [
        b'{"code": "h\\u00e9llo", "raw": "AQID", "price": 1.235, "even": "1.245", "big": "123.45675"}',
        b'{"code": "toolongvalue"}',
        b'{"raw": "AQIDBA=="}',
        b'{"price": 999.995}',
        b'{"price": "-999.994"}',
        b'{"big": "1234567890123456789012345678901234567"}',
    ]
    result = Codec(schema).decode(rows)
    assert [(r.index, r.code, r.path) for r in result.rejects] == [
        (1, "out_of_range", "code"), (2, "out_of_range", "raw"), (3, "out_of_range", "price"),
        (5, "out_of_range", "big"),
    ]  # fmt: skip
    assert "does not fit STRING(5)" in result.rejects[0].message
    assert "more than 3 integer digits for NUMERIC(5, 2)" in result.rejects[2].message
    got = pa.Table.from_batches([result.batch]).to_pylist()
    assert got[0] == {"code": "héllo", "raw": b"\x01\x02\x03", "price": Decimal("1.24"), "even": Decimal("1.24"),
                      "big": Decimal("123.4568")}  # fmt: skip
    assert got[1]["price"] == Decimal("-999.99")
