"""The declarative transform: read from TOML, checked against the schema (errors name the path), applied in Rust
inside the publisher's one native call, hashes equal to Python's own hashlib/hmac."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

from streamlake_fast import Schema
from streamlake_fast.codec.codec import Codec
from streamlake_fast.codec.transform import Transform
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.transports.gcp.wire import Preparation, prepare_publish

SCHEMA = Schema.from_bigquery([
    {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "email", "type": "STRING"},
    {"name": "card", "type": "STRING"},
    {"name": "currency", "type": "STRING", "mode": "REQUIRED"},
    {"name": "customer", "type": "RECORD", "fields": [
        {"name": "name", "type": "STRING"}, {"name": "tier", "type": "INT64"}]},
    {"name": "items", "type": "RECORD", "mode": "REPEATED", "fields": [
        {"name": "sku", "type": "STRING", "mode": "REQUIRED"}, {"name": "qty", "type": "INT64"}]},
])  # fmt: skip

TOML = """
[transform]
rename = { mail = "email", "customer.nm" = "name" }
drop = ["debug", "items.note"]
defaults = { currency = "USD", "customer.tier" = 0 }
hash = ["mail"]
hash_key_file = "pii.key"
redact = ["card"]
"""


@pytest.fixture
def transform(tmp_path: Path) -> Transform:
    (tmp_path / "t.toml").write_text(TOML)
    (tmp_path / "pii.key").write_bytes(b"k3y\n")
    return Transform.load(tmp_path / "t.toml")


def test_raw_events_become_the_schemas_events_in_the_publishers_call(transform: Transform) -> None:
    raw = [
        {"mail": "ann@example.com", "debug": {"trace": [1, 2]}, "card": "4111 1111", "customer": {"nm": "Ann"},
         "items": [{"sku": "a", "note": "gift", "qty": 2}], "event_id": "e1"},
        {"mail": None, "currency": "EUR", "customer": {"nm": "Bo", "tier": 3}, "items": [], "event_id": "e2"},
        {"currency": None, "items": [{"sku": "b"}], "event_id": "e3", "extra": 1},  # extra: refused, unknown
    ]  # fmt: skip
    transform.check(SCHEMA)
    how = Preparation("projects/p/topics/t", codec=Codec(SCHEMA), transform=transform.compile())
    p = prepare_publish(how, 0, events=[json.dumps(e).encode() for e in raw])
    requests, counts, rejects = p.requests, p.counts, p.outcomes[0].rejects
    assert counts == [2]
    assert [(r.index, r.code, r.path) for r in rejects] == [(2, "unknown_field", "extra")]
    digest = hmac.new(b"k3y", b"ann@example.com", hashlib.sha256).hexdigest()
    first = json.loads(transform.compile().apply(json.dumps(raw[0]).encode()))
    assert first == {"email": digest, "card": None, "customer": {"name": "Ann", "tier": 0},
                     "items": [{"sku": "a", "qty": 2}], "event_id": "e1", "currency": "USD"}  # fmt: skip
    second = json.loads(transform.compile().apply(json.dumps(raw[1]).encode()))
    assert second["email"] is None and second["currency"] == "EUR" and second["customer"]["tier"] == 3
    assert digest.encode() in requests[0]


def test_an_unkeyed_hash_is_sha256_of_the_text_or_the_json() -> None:
    t = Transform(hash=["a", "b"]).compile()
    out = json.loads(t.apply(b'{"a": "caf\\u00e9", "b": [1, 2]}'))
    assert out == {"a": hashlib.sha256("café".encode()).hexdigest(), "b": hashlib.sha256(b"[1,2]").hexdigest()}


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (Transform(rename={"mail": "e_mail"}), "transform.rename 'mail' → 'e_mail': the schema has no field 'e_mail'"),
        (Transform(rename={"customer.nm": "nom"}), "no field 'customer.nom'"),
        (Transform(drop=["event_id"]), "transform.drop 'event_id': the field is REQUIRED"),
        (Transform(hash=["customer"]), "transform.hash 'customer': the hash is a hex string"),
        (Transform(redact=["currency"]), "transform.redact 'currency': a redacted field is null"),
        (Transform(defaults={"customer.rank": 1}), "transform.defaults 'customer.rank': the schema has no field"),
        (Transform(derive=["ingest_time"]), "ingest_time needs a TIMESTAMP field"),
    ],
)
def test_a_transform_that_cannot_make_the_schemas_events_is_refused(transform: Transform, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        transform.check(SCHEMA)


def test_bad_files_and_conflicts_are_named(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text('[transform]\nrenmae = { a = "b" }\n')
    with pytest.raises(ConfigError, match="renmae"):
        Transform.load(f)
    f.write_text("[other]\n")
    with pytest.raises(ConfigError, match=r"no \[transform\] table"):
        Transform.load(f)
    with pytest.raises(ConfigError, match='"a" is in both drop and redact'):
        Transform(drop=["a"], redact=["a"]).compile()
    with pytest.raises(ConfigError, match="cannot read"):
        Transform(hash=["a"], hash_key_file=str(tmp_path / "missing.key")).compile()


def test_the_documented_transform_loads_and_fits_its_schema(tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "edge.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```toml\n(.*?)```", page, flags=re.S) if b.startswith("[transform]")]
    (tmp_path / "t.toml").write_text(block)
    (tmp_path / "pii.key").write_text("secret")
    t = Transform.load(tmp_path / "t.toml")
    schema = Schema.from_bigquery([
        {"name": "event_id", "type": "STRING"}, {"name": "ingest_time", "type": "TIMESTAMP"},
        {"name": "email", "type": "STRING"}, {"name": "currency", "type": "STRING"},
        {"name": "card_number", "type": "STRING"},
        {"name": "customer", "type": "RECORD", "fields": [{"name": "name", "type": "STRING"},
                                                          {"name": "tier", "type": "INT64"}]},
        {"name": "items", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "sku", "type": "STRING"}]},
    ])  # fmt: skip
    t.check(schema)
    out = json.loads(t.compile().apply(b'{"mail": "a@b", "debug": 1, "items": [{"sku": "s", "internal_note": "x"}]}'))
    assert out == {"email": hmac.new(b"secret", b"a@b", hashlib.sha256).hexdigest(), "items": [{"sku": "s"}],
                   "currency": "USD"}  # fmt: skip


def test_derive_follows_enrich_unless_the_transform_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlake_fast.edge.publisher import Publisher

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")  # channels connect lazily: nothing is sent here
    schema = Schema.from_bigquery([{"name": "event_id", "type": "STRING"}, {"name": "n", "type": "INT64"}])
    topic = "projects/p/topics/events"
    with Publisher(topic, schema, enrich=False, transform=Transform(drop=["x"])) as p:
        assert not p._event_id
    with Publisher(topic, schema, enrich=False, transform=Transform(derive=["event_id"])) as p:
        assert p._event_id
    with Publisher(topic, schema, transform=Transform(derive=[])) as p:
        assert not p._event_id
