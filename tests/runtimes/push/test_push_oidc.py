"""Pub/Sub push authentication as Google documents it: the push's OIDC token is verified against the issuer's
published keys (made and served locally here, tests/servers/google_auth.py), with its audience, issuer and the push
service account's verified email; the handler as a real process, driven over HTTP."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamlake_fast.http.asgi import HttpError
from streamlake_fast.http.oidc import PushTokenVerifier
from tests.http.helpers import Service
from tests.servers.google_auth import OidcIssuer, oidc_issuer
from tests.sinks.lake.helpers import read_lake

AUDIENCE = "https://ingest.example.run.app/"
ACCOUNT = "pusher@streamlake-test.iam.gserviceaccount.com"


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with oidc_issuer() as issuer:
        yield issuer


def _status(verifier: PushTokenVerifier, header: str | None) -> int:
    try:
        verifier.check_header(header)
    except HttpError as e:
        return e.status
    return 200


def test_a_token_is_verified_against_the_published_keys(issuer: OidcIssuer) -> None:
    verifier = PushTokenVerifier(AUDIENCE, ACCOUNT, certs_url=issuer.certs_url)
    good = issuer.token("k1", audience=AUDIENCE, email=ACCOUNT)
    assert _status(verifier, f"Bearer {good}") == 200
    assert _status(verifier, f"bearer {good}") == 200  # remembered: no second fetch, no second verification
    assert issuer.fetches == 1
    other = OidcIssuer("unused")
    other.add_key("k1")  # the same key id, another key: a forged signature
    cases = {
        None: 401,
        "Basic abc": 401,
        "Bearer not.a.token": 401,
        f"Bearer {other.token('k1', audience=AUDIENCE, email=ACCOUNT)}": 401,
        f"Bearer {issuer.token('k1', audience='https://elsewhere/', email=ACCOUNT)}": 401,
        f"Bearer {issuer.token('k1', audience=AUDIENCE, email=ACCOUNT, issued=time.time() - 7200)}": 401,  # expired
        f"Bearer {issuer.token('k1', audience=AUDIENCE, email='someone@evil.example')}": 403,
        f"Bearer {issuer.token('k1', audience=AUDIENCE, email=ACCOUNT, verified=False)}": 403,
        f"Bearer {issuer.token('k1', audience=AUDIENCE, email=ACCOUNT, issuer='https://evil.example')}": 403,
    }
    assert {h: _status(verifier, h) for h in cases} == cases


def test_a_rotated_key_is_fetched_once_it_signs(issuer: OidcIssuer) -> None:
    verifier = PushTokenVerifier(AUDIENCE, ACCOUNT, certs_url=issuer.certs_url)
    assert _status(verifier, f"Bearer {issuer.token('k1', audience=AUDIENCE, email=ACCOUNT)}") == 200
    issuer.add_key("k2")
    assert _status(verifier, f"Bearer {issuer.token('k2', audience=AUDIENCE, email=ACCOUNT)}") == 200
    assert issuer.fetches == 2
    issuer.keys["k9"] = issuer.keys["k2"]  # a key id that is never published: 401, and no fetch storm
    for _ in range(3):
        assert _status(verifier, f"Bearer {issuer.token('k9', audience=AUDIENCE, email=ACCOUNT)}") == 401
    assert issuer.fetches == 2


def _push(i: int) -> bytes:
    event = {"id": f"e{i}", "n": i}
    return json.dumps({"subscription": "projects/streamlake-test/subscriptions/push", "message": {
        "data": base64.b64encode(json.dumps(event).encode()).decode(), "messageId": str(i),
        "publishTime": "2026-12-06T10:00:00.123456789Z", "attributes": {}}}).encode()  # fmt: skip


def test_the_push_handler_writes_only_verified_deliveries(issuer: OidcIssuer, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps([{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}])
    )
    lake = tmp_path / "lake"
    service = Service("push-handler", "--lake", str(lake), "--schema", str(schema), "--push-audience", AUDIENCE,
                      "--push-service-account", ACCOUNT, "--push-certs-url", issuer.certs_url, env={})  # fmt: skip
    try:
        good = issuer.token("k1", audience=AUDIENCE, email=ACCOUNT)
        forged = issuer.token("k1", audience=AUDIENCE, email="someone@evil.example")
        with httpx.Client(base_url=service.url, timeout=30) as c:
            assert c.post("/", content=_push(1)).status_code == 401
            assert c.post("/", content=_push(2), headers={"authorization": f"Bearer {forged}"}).status_code == 403
            for i in (3, 4):
                r = c.post("/", content=_push(i), headers={"authorization": f"Bearer {good}"})
                assert r.status_code == 204, r.text
    finally:
        assert service.stop() == 0, "".join(service.lines)
    assert sorted(read_lake(lake).column("id").to_pylist()) == ["e3", "e4"]
