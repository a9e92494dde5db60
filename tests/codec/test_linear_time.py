"""No message can hold the worker for long: an adversarial message decodes (or is rejected) in time linear in its
size — within a small multiple of a clean message of the same size, both measured here, in the same process."""

from __future__ import annotations

import time

import pytest

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


SIZE = 9_000_000  # just under the 10 MB message limit


def _pad(head: bytes, unit: bytes, tail: bytes) -> bytes:
    return head + unit * ((SIZE - len(head) - len(tail)) // len(unit)) + tail


JSON_SCHEMA = Schema.from_bigquery([{"name": "id", "type": "STRING"}, {"name": "j", "type": "JSON"},
                                    {"name": "n", "type": "NUMERIC"}, {"name": "note", "type": "STRING"},
                                    {"name": "xs", "type": "INT64", "mode": "REPEATED"}])  # fmt: skip
ADVERSARIAL = {
    # each (message, expected reject code or None)
    "many duplicate keys": (_pad(b'{"j":{', b'"k":1,', b'"k":1}}'), "duplicate_key"),
    "a 9 MB number": (_pad(b'{"n":1', b"0", b"}"), "out_of_range"),
    "a 9 MB number in a JSON column": (_pad(b'{"j":1', b"0", b"}"), None),
    "deep nesting, closed": (b'{"j":' + b"[" * 1000 + b"]" * 1000 + b"}", "too_deep"),
    "deep nesting, never closed": (_pad(b'{"j":', b"[", b""), "invalid_json"),
    "a huge array": (_pad(b'{"xs":[1', b",1", b"]}"), None),
    "a string of escapes": (_pad(b'{"note":"', b"\\u00e9\\n", b'"}'), None),
    "a string of surrogate pairs": (_pad(b'{"note":"', b"\\ud83d\\ude00", b'"}'), None),
    "a bad escape at the end": (_pad(b'{"note":"', b"\\u00e9", b'\\x"}'), "invalid_json"),
}


@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_each_adversarial_shape_at_the_size_limit_takes_linear_time(shape: str) -> None:
    codec = Codec(JSON_SCHEMA, max_depth=1000)
    message, code = ADVERSARIAL[shape]
    result = codec.decode([message])
    assert [r.code for r in result.rejects] == ([code] if code else []), result.rejects
    clean = b'{"note":"' + b"x" * (len(message) - 11) + b'"}'
    # Within 100x of the cleanest message of the same size (a plain string copy, ~1 GB/s): linear, and a 10 MB
    # message is done in well under a second; a quadratic path would take minutes.
    assert _best_of(codec, message) < 100 * _best_of(codec, clean) + 0.05
