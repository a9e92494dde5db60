"""Envelopes (many events in one zstd-compressed NDJSON message), opened in Rust before the decode: events keep
their message and line, a bad event is dead-lettered alone, and an envelope that cannot be opened is one dead
letter with its code. The envelopes here are made with the ``zstandard`` package, not the product's sealer."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.codec.envelope import Dictionary, Envelope, OpenLimits
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.local.generate import receipts
from streamlake_fast.sinks.deadletter import dead_letter_records

SCHEMA = Schema.from_bigquery([{"name": "n", "type": "INT64", "mode": "REQUIRED"}])
MARKS = {"content-encoding": "zstd", "content-type": "application/x-ndjson"}
META = ["message_id", "event_index", "attributes"]


def envelope(events: list[bytes], **extra: str) -> tuple[bytes, dict[str, str]]:
    data = zstandard.ZstdCompressor().compress(b"\n".join(events) + b"\n")
    return data, {**MARKS, "event-count": str(len(events)), **extra}


def received(*messages: tuple[bytes, dict[str, str]]) -> Messages:
    return Messages.from_parts([(data, attrs, f"m{i}", 1_000_000, "") for i, (data, attrs) in enumerate(messages)])


def test_envelopes_and_plain_messages_mixed_become_rows_with_their_message_and_line() -> None:
    batch = received((b'{"n": 0}', {"shop": "a"}), envelope([b'{"n": 1}', b'{"n": 2}'], shop="b"), (b'{"n": 3}', {}))
    opened = batch.opened()
    assert len(batch) == 3 and len(opened) == 4
    result = Codec(SCHEMA).decode(opened, metadata=META)
    rows = result.batch.to_pylist()
    assert [(r["n"], r["message_id"], r["event_index"]) for r in rows] == [
        (0, "m0", 0), (1, "m1", 0), (2, "m1", 1), (3, "m2", 0)]  # fmt: skip
    assert json.loads(rows[1]["attributes"]) == {"shop": "b"}  # the envelope's markers are not the event's


def test_one_bad_event_is_dead_lettered_alone_with_its_index_and_bytes() -> None:
    batch = received(envelope([b'{"n": 1}', b'{"n": "x"}', b'{"n": 3}'])).opened()
    result = Codec(SCHEMA).decode(batch, metadata=META)
    assert result.batch.column("n").to_pylist() == [1, 3]
    assert [(r.index, r.code, r.path) for r in result.rejects] == [(1, "invalid_value", "n")]
    dead = dead_letter_records(batch, result.rejects, source="s", schema_fingerprint="f").to_pylist()
    assert [(d["message_id"], d["event_index"], d["data"]) for d in dead] == [("m0", 1, b'{"n": "x"}')]


def test_blank_lines_are_skipped_and_lines_counted() -> None:
    data = zstandard.ZstdCompressor().compress(b'{"n": 1}\r\n\n{"n": 2}')
    result = Codec(SCHEMA).decode(received((data, dict(MARKS))).opened(), metadata=META)
    assert result.batch.column("event_index").to_pylist() == [0, 2]


@pytest.mark.parametrize(
    ("data", "attrs", "limits", "code", "words"),
    [
        (b"not zstd", MARKS, OpenLimits(), "bad_envelope", "not valid zstd"),
        (None, MARKS, OpenLimits(), "bad_envelope", "truncated"),
        (b"x", {"content-encoding": "br"}, OpenLimits(), "bad_envelope", '"br" is not supported'),
        (b"", {**MARKS, "event-count": "4"}, OpenLimits(), "bad_envelope", 'says "4", the envelope holds 3'),
        (b"", MARKS, OpenLimits(max_events=2), "envelope_too_many_events", "3 events in the envelope; at most 2"),
        (b"", MARKS, OpenLimits(max_bytes=10), "envelope_too_large", "past 10 bytes"),
    ],
)
def test_an_envelope_that_cannot_be_opened_is_one_dead_letter_with_its_code(
    data: bytes | None, attrs: dict[str, str], limits: OpenLimits, code: str, words: str
) -> None:
    good = zstandard.ZstdCompressor().compress(b'{"n": 1}\n{"n": 2}\n{"n": 3}\n')
    data = good if data == b"" else good[:-4] if data is None else data
    batch = received((b'{"n": 0}', {}), (data, attrs)).opened(limits)
    assert len(batch) == 2
    result = Codec(SCHEMA).decode(batch, metadata=META)
    assert result.batch.column("n").to_pylist() == [0]
    assert [(r.index, r.code) for r in result.rejects] == [(1, code)]
    assert words in result.rejects[0].message
    dead = dead_letter_records(batch, result.rejects, source="s", schema_fingerprint="f").to_pylist()
    assert dead[0]["data"] == data  # the envelope whole, replayable as it is


def test_a_decompression_bomb_is_a_reject_not_an_out_of_memory() -> None:
    bomb = zstandard.ZstdCompressor(level=19).compress(b" " * (512 << 20))  # 512 MiB of spaces, a few KB sent
    assert len(bomb) < 100_000
    result = Codec(SCHEMA).decode(received((bomb, dict(MARKS))).opened())
    assert [r.code for r in result.rejects] == ["envelope_too_large"]


def test_sqs_bodies_carry_envelopes_as_base64_text() -> None:
    data, attrs = envelope([b'{"n": 5}'])
    text = base64.b64encode(data)
    result = Codec(SCHEMA).decode(received((text, {**attrs, "content-transfer-encoding": "base64"})).opened())
    assert result.batch.column("n").to_pylist() == [5]


def test_routes_see_the_events_of_an_envelope() -> None:
    batch = received(envelope([b'{"n": 1, "t": "a"}', b'{"n": 2, "t": "b"}', b'{"n": 3, "t": "a"}'])).opened()
    groups = batch.by_route(field="t")
    assert [(g.key, list(g.positions)) for g in groups] == [("a", [0, 2]), ("b", [1])]


def test_opening_twice_opens_nothing_more() -> None:
    batch = received(envelope([b'{"n": 1}']), (b"bad", dict(MARKS))).opened()
    again = batch.opened()
    assert again is batch and len(again) == 2  # nothing copied, nothing scanned again
    plain = received((b'{"n": 1}', {}))
    assert plain.opened() is plain and plain.opened() is plain
    joined = Messages.concat([batch, batch])  # opened parts make an opened whole
    assert joined.opened() is joined and len(joined) == 4
    assert [r.code for r in Codec(SCHEMA).decode(again).rejects] == ["bad_envelope"]


def test_envelope_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="encoding must be 'zstd'"):
        Envelope(encoding="gzip")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="level must be between"):
        Envelope(level=40)


def _trained(seed: int) -> bytes:
    """A zstd dictionary trained by ``zstandard`` (not the product) on events like ``{"n": …, "shop": …}``."""
    samples = [json.dumps({"n": i, "shop": f"shop-{seed}-{i % 40}", "note": "x" * (i % 30)}).encode()
               for i in range(2000)]  # fmt: skip
    return zstandard.train_dictionary(2048, samples).as_bytes()


def test_envelopes_made_with_a_dictionary_open_with_it_by_id() -> None:
    raw = _trained(1)
    events = [b'{"n": 1, "shop": "shop-1-1"}', b'{"n": 2, "shop": "shop-1-2"}']
    compressor = zstandard.ZstdCompressor(dict_data=zstandard.ZstdCompressionDict(raw))
    data = compressor.compress(b"\n".join(events) + b"\n")
    dict_id = zstandard.ZstdCompressionDict(raw).dict_id()
    named = {**MARKS, "content-dictionary": str(dict_id)}
    before = Codec(SCHEMA, unknown_fields="ignore").decode(received((data, named)).opened(), metadata=META)
    assert [(r.code, r.message) for r in before.rejects] == [
        ("unknown_dictionary", f"the envelope was compressed with zstd dictionary {dict_id}, which this reader has "
                               "not loaded")]  # fmt: skip
    assert Dictionary.of(raw).id == dict_id
    # named by the attribute, or by the frame's header alone
    after = Codec(SCHEMA, unknown_fields="ignore").decode(received((data, named), (data, MARKS)).opened())
    assert not after.rejects and after.batch.column("n").to_pylist() == [1, 2, 1, 2]
    result = Codec(SCHEMA).decode(received((data, {**MARKS, "content-dictionary": "seven"})).opened())
    assert [r.code for r in result.rejects] == ["bad_envelope"] and '"seven" is not' in result.rejects[0].message


def test_a_trained_dictionary_shrinks_small_envelopes(tmp_path: Path) -> None:
    samples = [data for data, _ in receipts(3000)]
    dictionary = Dictionary.train(samples)
    dictionary.save(tmp_path / "d")
    assert Dictionary.load(tmp_path / "d") == dictionary and len(dictionary.data) <= 16_384
    few = [data for data, _ in receipts(8, seed=77)]  # ~3 KB of NDJSON: a quiet minute of a small shop
    plain = zstandard.ZstdCompressor().compress(b"\n".join(few))
    with_it = zstandard.ZstdCompressor(dict_data=zstandard.ZstdCompressionDict(dictionary.data)).compress(
        b"\n".join(few)
    )
    assert len(with_it) * 7 < len(plain) * 5  # about 1.6 times smaller


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: Dictionary.of(b"plain bytes"), "not a zstd dictionary"),
        (lambda p: Dictionary.load(p / "missing"), "cannot read the envelope dictionary"),
        (lambda p: Dictionary.train([b"{}"] * 5), "at least 10 events"),
        (lambda p: Dictionary.train([b"{}"] * 20, size=100), "at least 256 bytes"),
        (lambda p: Dictionary.train([b"x"] * 10), "give more events or a smaller size"),  # zstd's own refusal
    ],
)
def test_a_bad_dictionary_is_named(make: Any, words: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=words):
        make(tmp_path)
