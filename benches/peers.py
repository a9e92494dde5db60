"""The peers the codec is measured against: each turns the same receipts into the same typed Arrow table.

Every peer returns a ``pyarrow.Table`` cast to the codec's schema, or raises when it cannot (a bulk reader that
fails the whole batch on one bad row).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import duckdb
import msgspec
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.json as pj

Peer = Callable[[list[bytes], bytes, Path, pa.Schema], pa.Table]


def pyarrow_json(threads: bool) -> Peer:
    def run(messages: list[bytes], ndjson: bytes, path: Path, schema: pa.Schema) -> pa.Table:
        table = pj.read_json(
            io.BytesIO(ndjson),
            read_options=pj.ReadOptions(use_threads=threads, block_size=16 << 20),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
        )
        return table.cast(schema)

    return run


_DUCKDB_COLUMNS = {
    "event_id": "VARCHAR",
    "event_time": "TIMESTAMP",  # TIMESTAMPTZ needs the icu extension, not installable offline; values are UTC
    "customer_id": "BIGINT",
    "store_id": "VARCHAR",
    "currency": "VARCHAR",
    "total": "DECIMAL(38,9)",
    "payment": "STRUCT(method VARCHAR, card_last4 VARCHAR, amount DECIMAL(38,9))",
    "items": "STRUCT(sku VARCHAR, name VARCHAR, qty BIGINT, unit_price DECIMAL(38,9))[]",
    "coupon": "VARCHAR",
}


def duckdb_read_json(threads: int) -> Peer:
    def run(messages: list[bytes], ndjson: bytes, path: Path, schema: pa.Schema) -> pa.Table:
        con = duckdb.connect(config={"threads": threads})
        try:
            rel = con.read_json(str(path), columns=_DUCKDB_COLUMNS, format="newline_delimited")
            table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
        finally:
            con.close()
        return table.cast(schema)

    return run


def polars_read_ndjson(messages: list[bytes], ndjson: bytes, path: Path, schema: pa.Schema) -> pa.Table:
    # polars reads JSON numbers into Decimal columns only through Float64, then casts (rounding at scale 9).
    def schema_with(money: pl.DataType) -> dict[str, pl.DataType]:
        return {
            "event_id": pl.String(),
            "event_time": pl.String(),
            "customer_id": pl.Int64(),
            "store_id": pl.String(),
            "currency": pl.String(),
            "total": money,
            "payment": pl.Struct({"method": pl.String, "card_last4": pl.String, "amount": money}),
            "items": pl.List(pl.Struct({"sku": pl.String, "name": pl.String, "qty": pl.Int64, "unit_price": money})),
            "coupon": pl.String(),
        }

    df = pl.read_ndjson(io.BytesIO(ndjson), schema=schema_with(pl.Float64()))
    typed = schema_with(pl.Decimal(38, 9))
    df = df.with_columns(
        pl.col("event_time").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=True),
        *(pl.col(c).cast(typed[c]) for c in ("total", "payment", "items")),
    )
    return df.to_arrow().cast(schema)


class _Payment(TypedDict):
    method: str
    card_last4: str | None
    amount: Decimal


class _Item(TypedDict):
    sku: str
    name: str | None
    qty: int
    unit_price: Decimal


class _Receipt(TypedDict):
    event_id: str
    event_time: datetime
    customer_id: int
    store_id: str
    currency: str
    total: Decimal
    payment: _Payment
    items: list[_Item]
    coupon: str | None


_MSGSPEC = msgspec.json.Decoder(_Receipt)


def msgspec_from_pylist(messages: list[bytes], ndjson: bytes, path: Path, schema: pa.Schema) -> pa.Table:
    rows = []
    for m in messages:
        try:
            rows.append(_MSGSPEC.decode(m))
        except (msgspec.ValidationError, msgspec.DecodeError):
            continue  # msgspec validates per message, so a bad one can be set aside
    return pa.Table.from_pylist(rows, schema=schema)


def _typed(event: dict[str, Any]) -> dict[str, Any]:
    event["event_time"] = datetime.fromisoformat(event["event_time"])
    event["total"] = Decimal(str(event["total"]))
    event["payment"]["amount"] = Decimal(str(event["payment"]["amount"]))
    for item in event["items"]:
        item["unit_price"] = Decimal(str(item["unit_price"]))
    return event


def orjson_from_pylist(messages: list[bytes], ndjson: bytes, path: Path, schema: pa.Schema) -> pa.Table:
    rows = []
    for m in messages:
        try:
            rows.append(_typed(orjson.loads(m)))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return pa.Table.from_pylist(rows, schema=schema)


PEERS: dict[str, Peer] = {
    "pyarrow.json (1 thread)": pyarrow_json(threads=False),
    "pyarrow.json (2 threads)": pyarrow_json(threads=True),
    "duckdb read_json (1 thread)": duckdb_read_json(threads=1),
    "duckdb read_json (2 threads)": duckdb_read_json(threads=2),
    "polars.read_ndjson": polars_read_ndjson,
    "msgspec + Table.from_pylist": msgspec_from_pylist,
    "orjson + Table.from_pylist": orjson_from_pylist,
}
