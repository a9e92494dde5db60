"""A mixed stream for the demo, the tests and the benchmarks: receipts, IoT readings, payments and game telemetry
interleaved message by message on one topic, each marked by a ``type`` attribute, a share of them invalid
(an unknown field: each type's schema rejects it) and a share of a type no route takes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.local.shapes import iot, payments, telemetry

__all__ = ["MIXED_SCHEMAS", "MIXED_TYPES", "UNKNOWN_TYPE", "MixedEvent", "mixed_events"]

#: Each event type's BigQuery schema (the ``type`` attribute's values).
MIXED_SCHEMAS: dict[str, list[dict[str, Any]]] = {
    "receipt": RECEIPT_SCHEMA,
    "iot": iot(0, 0)[0],
    "payment": payments(0, 0)[0],
    "telemetry": telemetry(0, 0)[0],
}
MIXED_TYPES = tuple(MIXED_SCHEMAS)
#: The type of the messages no route takes.
UNKNOWN_TYPE = "clickstream"


@dataclass(frozen=True, slots=True)
class MixedEvent:
    data: bytes
    type: str  # the ``type`` attribute
    valid: bool  # valid for its type's schema (an unknown type's events never are)

    @property
    def attributes(self) -> dict[str, str]:
        return {"type": self.type}


def mixed_events(
    n: int, *, seed: int = 7, invalid_fraction: float = 0.01, unknown_fraction: float = 0.0
) -> list[MixedEvent]:
    """``n`` events of the four types in turn (receipt, iot, payment, telemetry, …); about ``invalid_fraction`` of
    them carry an unknown field, ``unknown_fraction`` are of :data:`UNKNOWN_TYPE`."""
    each = n // len(MIXED_TYPES) + 1
    streams = {
        "receipt": [data for data, _ in receipts(each, seed=seed)],
        "iot": iot(each, seed)[1],
        "payment": payments(each, seed)[1],
        "telemetry": telemetry(each, seed)[1],
    }
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = MIXED_TYPES[i % len(MIXED_TYPES)]
        data = streams[kind][i // len(MIXED_TYPES)]
        if rng.random() < unknown_fraction:
            out.append(MixedEvent(data, UNKNOWN_TYPE, False))
        elif rng.random() < invalid_fraction:
            out.append(MixedEvent(data[:-1] + b',"not_in_the_schema":1}', kind, False))
        else:
            out.append(MixedEvent(data, kind, True))
    return out
