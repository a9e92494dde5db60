"""The receipt generator: deterministic, realistic size, and each invalid kind rejected with its code."""

from __future__ import annotations

import json

from streamlake_fast import Codec
from streamlake_fast.local.generate import INVALID_KINDS, receipts


def test_deterministic() -> None:
    assert list(receipts(50, seed=3, invalid_fraction=0.1)) == list(receipts(50, seed=3, invalid_fraction=0.1))
    assert list(receipts(5, seed=3)) != list(receipts(5, seed=4))


def test_size_and_shape() -> None:
    messages = [m for m, _ in receipts(1000)]
    mean = sum(map(len, messages)) / len(messages)
    assert 300 < mean < 550
    event = json.loads(messages[0])
    assert set(event) == {
        "event_id",
        "event_time",
        "customer_id",
        "store_id",
        "currency",
        "total",
        "payment",
        "items",
        "coupon",
    }


def test_invalid_fraction_is_exact_and_each_kind_gets_its_code(receipts_codec: Codec) -> None:
    pairs = list(receipts(1600, invalid_fraction=0.01))
    kinds = [k for _, k in pairs]
    assert sum(k is not None for k in kinds) == 16
    assert {k for k in kinds if k} == set(INVALID_KINDS)
    result = receipts_codec.decode([m for m, _ in pairs])
    assert [(r.index, r.code) for r in result.rejects] == [
        (i, INVALID_KINDS[k]) for i, k in enumerate(kinds) if k is not None
    ]
