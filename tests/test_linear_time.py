"""No message can hold the worker for long: an adversarial message decodes (or is rejected) in time linear in its
size — within a small multiple of a clean message of the same size, both measured here, in the same process."""

from __future__ import annotations

import time

from streamlake_fast import Codec, Schema

SCHEMA = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"},
                               {"name": "note", "type": "STRING"}])  # fmt: skip


def _best_of(codec: Codec, message: bytes, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        codec.decode([message])
        best = min(best, time.perf_counter() - start)
    return best


def test_many_ignored_unknown_keys_take_linear_time() -> None:
    codec = Codec(SCHEMA, unknown_fields="ignore")
    n = 200_000  # ~3 MB of keys: quadratic checking took minutes at this size
    adversarial = b'{"id":"a",' + b",".join(b'"k%d":1' % i for i in range(n)) + b"}"
    clean = b'{"id":"a","note":"' + b"x" * (len(adversarial) - 20) + b'"}'
    assert abs(len(clean) - len(adversarial)) < 10
    result = codec.decode([adversarial])
    assert result.batch.num_rows == 1 and not result.rejects  # ignored, and still checked for duplicates
    duplicated = adversarial[:-1] + b',"k7":2}'
    assert [r.code for r in codec.decode([duplicated]).rejects] == ["duplicate_key"]
    # a key costs more than a string byte (a hash, a small allocation): within 200x of the cleanest input of the
    # same size is linear; the quadratic check took ~50,000x here
    assert _best_of(codec, adversarial) < 200 * _best_of(codec, clean) + 0.05
