"""A deterministic generator of realistic eCommerce receipts (~400 bytes of JSON each), valid and invalid.

The same ``(n, seed, invalid_fraction)`` always yields the same bytes, so benchmarks and tests can compare runs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from streamlake_fast.codec.schema import Schema

__all__ = ["INVALID_KINDS", "RECEIPT_SCHEMA", "receipt_batches", "receipt_schema", "receipts"]

RECEIPT_SCHEMA: list[dict[str, Any]] = [
    {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "event_time", "type": "TIMESTAMP", "mode": "REQUIRED"},
    {"name": "customer_id", "type": "INT64", "mode": "REQUIRED"},
    {"name": "store_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "currency", "type": "STRING", "mode": "REQUIRED"},
    {"name": "total", "type": "NUMERIC", "mode": "REQUIRED"},
    {
        "name": "payment",
        "type": "RECORD",
        "mode": "REQUIRED",
        "fields": [
            {"name": "method", "type": "STRING", "mode": "REQUIRED"},
            {"name": "card_last4", "type": "STRING", "mode": "NULLABLE"},
            {"name": "amount", "type": "NUMERIC", "mode": "REQUIRED"},
        ],
    },
    {
        "name": "items",
        "type": "RECORD",
        "mode": "REPEATED",
        "fields": [
            {"name": "sku", "type": "STRING", "mode": "REQUIRED"},
            {"name": "name", "type": "STRING", "mode": "NULLABLE"},
            {"name": "qty", "type": "INT64", "mode": "REQUIRED"},
            {"name": "unit_price", "type": "NUMERIC", "mode": "REQUIRED"},
        ],
    },
    {"name": "coupon", "type": "STRING", "mode": "NULLABLE"},
]

_PRODUCTS = [
    "espresso beans 1kg", "oat milk", "croissant", "paper filters", "ceramic mug", "grinder brush",
    "cold brew bottle", "chai syrup", "almond biscotti", "travel tumbler", "matcha tin", "dark chocolate",
]  # fmt: skip
_CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK"]
_METHODS = ["card", "card", "card", "cash", "wallet"]
_COUPONS = ["WINTER10", "WELCOME5", "LOYALTY", "BLACKFRIDAY"]
_EPOCH = datetime(2026, 11, 1, tzinfo=timezone.utc)

# Each kind of invalid event, with the reject code the codec must give it.
INVALID_KINDS: dict[str, str] = {
    "missing_event_id": "missing_required",
    "qty_not_a_number": "invalid_value",
    "bad_timestamp": "invalid_value",
    "unknown_field": "unknown_field",
    "truncated_json": "invalid_json",
    "total_too_precise": "out_of_range",
    "null_item": "null_element",
    "customer_as_object": "type_mismatch",
}


def receipt_schema() -> Schema:
    """The receipts' BigQuery schema."""
    return Schema.from_bigquery(RECEIPT_SCHEMA)


def _receipt(rng: random.Random, i: int) -> dict[str, Any]:
    items = []
    total_cents = 0
    for _ in range(rng.randint(1, 4)):
        qty = rng.randint(1, 5)
        cents = rng.randint(99, 4999)
        total_cents += qty * cents
        items.append(
            {
                "sku": f"SKU-{rng.randint(0, 99_999_999):08d}",
                "name": rng.choice(_PRODUCTS),
                "qty": qty,
                "unit_price": _money(cents),
            }
        )
    ts = _EPOCH + timedelta(seconds=i * 0.01, microseconds=rng.randint(0, 999_999))
    method = rng.choice(_METHODS)
    return {
        "event_id": f"evt-{i:010d}-{rng.getrandbits(32):08x}",
        "event_time": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "customer_id": rng.randint(1, 10**12),
        "store_id": f"store-{rng.randint(1, 500):04d}",
        "currency": rng.choice(_CURRENCIES),
        "total": _money(total_cents),
        "payment": {
            "method": method,
            "card_last4": f"{rng.randint(0, 9999):04d}" if method == "card" else None,
            "amount": _money(total_cents),
        },
        "items": items,
        "coupon": rng.choice(_COUPONS) if rng.random() < 0.2 else None,
    }


def _money(cents: int) -> float:
    # repr() of cents / 100 is its shortest round-tripping text, i.e. at most two decimals: exact for NUMERIC.
    return cents / 100


def _spoil(event: dict[str, Any], kind: str) -> bytes:
    if kind == "missing_event_id":
        del event["event_id"]
    elif kind == "qty_not_a_number":
        event["items"][0]["qty"] = "two"
    elif kind == "bad_timestamp":
        event["event_time"] = "2026-13-45T99:00:00Z"
    elif kind == "unknown_field":
        event["debug"] = True
    elif kind == "total_too_precise":
        event["total"] = "12.3456789012"
    elif kind == "null_item":
        event["items"].append(None)
    elif kind == "customer_as_object":
        event["customer_id"] = {"id": 1}
    data = _dumps(event)
    if kind == "truncated_json":
        data = data[: len(data) // 2]
    return data


def _dumps(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def receipts(n: int, *, seed: int = 42, invalid_fraction: float = 0.0) -> Iterator[tuple[bytes, str | None]]:
    """Yield ``(json_bytes, invalid_kind_or_None)`` for ``n`` receipts.

    Exactly ``round(n * invalid_fraction)`` events are invalid, spread evenly, cycling through
    :data:`INVALID_KINDS`.
    """
    rng = random.Random(seed)
    kinds = list(INVALID_KINDS)
    n_bad = round(n * invalid_fraction)
    step = n / n_bad if n_bad else 0.0
    bad_at = {int(k * step + step / 2) for k in range(n_bad)}
    bad_seen = 0
    for i in range(n):
        event = _receipt(rng, i)
        if i in bad_at:
            kind = kinds[bad_seen % len(kinds)]
            bad_seen += 1
            yield _spoil(event, kind), kind
        else:
            yield _dumps(event), None


def receipt_batches(n: int, size: int, *, seed: int = 42, invalid_fraction: float = 0.0) -> Iterator[list[bytes]]:
    """:func:`receipts` as lists of at most ``size`` messages (the raw events only)."""
    batch: list[bytes] = []
    for data, _ in receipts(n, seed=seed, invalid_fraction=invalid_fraction):
        batch.append(data)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
