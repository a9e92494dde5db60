"""Property tests: random valid events (every type and mode, random key order and whitespace) decode equal to a
pure-Python reference built with pyarrow."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlake_fast import Codec, Schema

# A value strategy yields (json_text, expected_python_value).
Pair = tuple[str, Any]

SCALARS: dict[str, st.SearchStrategy[Pair]] = {}


def _dump(s: str) -> st.SearchStrategy[str]:
    return st.booleans().map(lambda ascii_: json.dumps(s, ensure_ascii=ascii_))


SCALARS["STRING"] = st.text(max_size=30).flatmap(lambda s: _dump(s).map(lambda t: (t, s)))
SCALARS["BYTES"] = st.binary(max_size=30).map(lambda b: (json.dumps(base64.b64encode(b).decode()), b))
SCALARS["INT64"] = st.tuples(st.integers(-(2**63), 2**63 - 1), st.booleans()).map(
    lambda p: (json.dumps(str(p[0])) if p[1] else str(p[0]), p[0])
)
SCALARS["FLOAT64"] = st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (json.dumps(f), f))
SCALARS["BOOL"] = st.booleans().map(lambda b: (json.dumps(b), b))


def _decimal(unscaled: int, scale: int, as_string: bool) -> Pair:
    value = Decimal(f"{unscaled}E-{scale}")  # exact: Decimal arithmetic would round to 28 digits
    text = f"{value:f}"
    return (json.dumps(text) if as_string else text, value)


SCALARS["NUMERIC"] = st.tuples(st.integers(-(10**38) + 1, 10**38 - 1), st.booleans()).map(
    lambda p: _decimal(p[0], 9, p[1])
)
SCALARS["BIGNUMERIC"] = st.tuples(st.integers(-(10**76) + 1, 10**76 - 1), st.booleans()).map(
    lambda p: _decimal(p[0], 38, p[1])
)

_OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


def _timestamp(dt: datetime, sep: str, zulu: bool) -> Pair:
    text = dt.isoformat(sep=sep)
    if zulu and dt.utcoffset() == timedelta(0):
        text = text.replace("+00:00", "Z")
    return json.dumps(text), dt.astimezone(timezone.utc)


SCALARS["TIMESTAMP"] = st.builds(
    _timestamp,
    st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=st.one_of(st.just(timezone.utc), _OFFSETS)),
    st.sampled_from(["T", " "]),
    st.booleans(),
)
SCALARS["DATE"] = st.dates().map(lambda d: (json.dumps(d.isoformat()), d))
SCALARS["TIME"] = st.times().map(lambda t: (json.dumps(t.isoformat()), t))
SCALARS["DATETIME"] = st.datetimes().map(lambda d: (json.dumps(d.isoformat(sep=" ")), d))

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
SCALARS["JSON"] = st.tuples(_JSON_VALUES.filter(lambda v: v is not None), st.integers(0, 2)).map(
    lambda p: (
        json.dumps(p[0], indent=p[1] or None, ensure_ascii=False),
        json.dumps(p[0], separators=(",", ":"), ensure_ascii=False),
    )
)

SCHEMA_FIELDS: list[dict[str, Any]] = [
    {"name": f"{t.lower()}_{mode.lower()}", "type": t, "mode": mode}
    for t in SCALARS
    for mode in ["NULLABLE", "REQUIRED", "REPEATED"]
]
SCHEMA_FIELDS.append(
    {
        "name": "rec",
        "type": "RECORD",
        "mode": "REPEATED",
        "fields": [
            {"name": "s", "type": "STRING", "mode": "REQUIRED"},
            {"name": "n", "type": "NUMERIC"},
            {
                "name": "inner",
                "type": "RECORD",
                "fields": [{"name": "ts", "type": "TIMESTAMP", "mode": "REPEATED"}],
            },
        ],
    }
)
SCHEMA = Schema.from_bigquery(SCHEMA_FIELDS)
CODEC = Codec(SCHEMA)


def field_value(field: dict[str, Any]) -> st.SearchStrategy[tuple[str | None, Any]]:
    """(json_text or None when the key is omitted, expected value)."""
    one = record(field["fields"]) if field["type"] == "RECORD" else SCALARS[field["type"]]
    mode = field.get("mode", "NULLABLE")
    if mode == "REQUIRED":
        return one.map(lambda p: (p[0], p[1]))
    if mode == "NULLABLE":
        return st.one_of(one.map(lambda p: (p[0], p[1])), st.sampled_from([("null", None), (None, None)]))
    items = st.lists(one, max_size=3).map(lambda ps: ("[" + ", ".join(p[0] for p in ps) + "]", [p[1] for p in ps]))
    return st.one_of(items, st.sampled_from([("null", []), (None, [])]))


def record(fields: list[dict[str, Any]]) -> st.SearchStrategy[Pair]:
    strategies = [(f, field_value(f)) for f in fields]

    @st.composite
    def build(draw: st.DrawFn) -> Pair:
        parts, expected = [], {}
        for f, strategy in strategies:
            text, value = draw(strategy)
            expected[f["name"]] = value
            if text is not None:
                parts.append(f"{json.dumps(f['name'])}{draw(st.sampled_from(['', ' ']))}:{text}")
        order = draw(st.permutations(parts))
        sep = draw(st.sampled_from([",", ", ", ",\n  "]))
        return "{" + sep.join(order) + "}", expected

    return build()


EVENT = record(SCHEMA_FIELDS)


@settings(max_examples=100, deadline=None)
@given(st.lists(EVENT, min_size=1, max_size=8))
def test_random_valid_events_decode_like_the_reference(events: list[Pair]) -> None:
    result = CODEC.decode([text.encode() for text, _ in events])
    assert result.rejects == []
    expected = pa.Table.from_pylist([value for _, value in events], schema=SCHEMA.to_arrow())
    got = pa.Table.from_batches([result.batch])
    assert got.equals(expected), (got.to_pylist(), expected.to_pylist())


@settings(max_examples=50, deadline=None)
@given(st.lists(EVENT, min_size=2, max_size=6), st.data())
def test_corrupting_one_event_rejects_only_that_event(events: list[Pair], data: st.DataObject) -> None:
    victim = data.draw(st.integers(0, len(events) - 1))
    cut = data.draw(st.integers(1, len(events[victim][0]) - 1))
    messages = [text.encode() for text, _ in events]
    messages[victim] = messages[victim][:cut]  # a truncated object is never valid JSON
    result = CODEC.decode(messages)
    assert [r.index for r in result.rejects] == [victim]
    keep = [value for i, (_, value) in enumerate(events) if i != victim]
    assert pa.Table.from_batches([result.batch]).equals(pa.Table.from_pylist(keep, schema=SCHEMA.to_arrow()))
