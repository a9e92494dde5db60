"""``streamlake serve`` as a real process on the Pub/Sub emulator, driven over HTTP: every request shape, the
answers, the limits, authentication, and Pub/Sub becoming unreachable (503, nothing half-published)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import zstandard

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA, receipts
from tests.http.helpers import Service
from tests.servers.fixtures import Cloud
from tests.servers.tcp_proxy import TcpProxy
from tests.worker.helpers import pull_all

TOKEN = "s3cret-token"
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}


@pytest.fixture
def serve(pubsub_only: Cloud, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    schema = tmp_path / "receipts.json"  # with ingest_time: the processor fills it
    schema.write_text(json.dumps([*RECEIPT_SCHEMA, {"name": "ingest_time", "type": "TIMESTAMP"}]))
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    service = Service("serve", "--topic", topic, "--schema", str(schema), "--auth-token-file", str(token),
                      env={"PUBSUB_EMULATOR_HOST": pubsub_only.pubsub_host})  # fmt: skip
    yield service, subscription
    assert service.stop() == 0, "".join(service.lines)


def auth(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "authorization": f"Bearer {TOKEN}"}


def test_mixed_request_shapes_publish_exactly_the_accepted_events(
    serve: tuple[Service, str], pubsub_only: Cloud
) -> None:
    service, subscription = serve
    pairs = list(receipts(10_000, seed=5, invalid_fraction=0.01))
    # Arrays must be JSON: the truncated events go in single and NDJSON requests only.
    truncated = [p for p in pairs if p[1] == "truncated_json"]
    rest = [p for p in pairs if p[1] != "truncated_json"]
    requests: list[tuple[list[tuple[bytes, str | None]], dict[str, str], bytes]] = []
    singles, rest = truncated + rest[:900], rest[900:]
    requests += [([p], JSON, p[0]) for p in singles]
    for size, shape in [(100, "array"), (250, "ndjson"), (500, "gzip"), (500, "zstd")]:
        for _ in range(5 if size < 500 else 2):
            chunk, rest = rest[:size], rest[size:]
            lines = b"\n".join(d for d, _ in chunk) + b"\n"
            if shape == "array":
                requests.append((chunk, JSON, b"[" + b",\n".join(d for d, _ in chunk) + b"]"))
            elif shape == "ndjson":
                requests.append((chunk, NDJSON, lines))
            elif shape == "gzip":
                requests.append((chunk, {**NDJSON, "content-encoding": "gzip"}, gzip.compress(lines)))
            else:
                body = zstandard.ZstdCompressor().compress(b"[" + b",".join(d for d, _ in chunk) + b"]")
                requests.append((chunk, {**JSON, "content-encoding": "zstd"}, body))
    requests += [
        (rest[i : i + 100], NDJSON, b"\n".join(d for d, _ in rest[i : i + 100])) for i in range(0, len(rest), 100)
    ]
    assert sum(len(c) for c, _, _ in requests) == 10_000

    with httpx.Client(base_url=service.url, timeout=60) as client, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda r: client.post("/v1/events", content=r[2], headers=auth(r[1])), requests))
    accepted_ids: set[str] = set()
    enriched = 0
    for (chunk, _, _), answer in zip(requests, answers, strict=True):
        refused = [i for i, (_, kind) in enumerate(chunk) if kind not in (None, "missing_event_id")]
        body = answer.json()
        assert answer.status_code == (400 if len(refused) == len(chunk) else 200), body
        assert [r["index"] for r in body["rejected"]] == refused, body
        assert all({"index", "code", "path", "message"} == set(r) for r in body["rejected"])
        assert [r["code"] for r in body["rejected"]] == [INVALID_KINDS[chunk[i][1]] for i in refused]  # type: ignore[index]
        assert body["accepted"] == len(chunk) - len(refused)
        for data, kind in chunk:
            if kind is None:
                accepted_ids.add(json.loads(data)["event_id"])
            enriched += kind == "missing_event_id"
    published = [json.loads(m.message.data) for m in pull_all(pubsub_only, subscription)]
    ids = [e["event_id"] for e in published]
    twice = {i for i in ids if ids.count(i) > 1} if len(ids) != len(set(ids)) else set()
    assert not twice, (twice, "".join(service.lines))
    assert len(ids) == len(accepted_ids) + enriched  # each accepted event once
    assert accepted_ids <= set(ids)
    generated = [i for i in ids if i not in accepted_ids]
    assert len(generated) == enriched and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in generated)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["ingest_time"]) for e in published)


def test_answers_for_bad_requests(serve: tuple[Service, str], pubsub_only: Cloud) -> None:
    service, subscription = serve
    event = next(receipts(1, seed=7))[0]
    with httpx.Client(base_url=service.url, timeout=30) as c:
        assert c.post("/v1/events", content=event, headers=JSON).status_code == 401
        assert c.post("/v1/events", content=event, headers={**JSON, "authorization": "Bearer nope"}).status_code == 403
        r = c.post("/v1/events", content=event, headers=auth({"content-type": "text/plain"}))
        assert r.status_code == 415 and "application/x-ndjson" in r.json()["error"]
        r = c.post("/v1/events", content=event, headers=auth({**JSON, "content-encoding": "br"}))
        assert r.status_code == 415 and "'br'" in r.json()["error"]
        r = c.post("/v1/events", content=b"x" * 8_000_001, headers=auth(NDJSON))
        assert r.status_code == 413
        bomb = gzip.compress(b" " * 9_000_000)
        r = c.post("/v1/events", content=bomb, headers=auth({**NDJSON, "content-encoding": "gzip"}))
        assert r.status_code == 413 and "decompressed" in r.json()["error"]
        r = c.post("/v1/events", content=b"\n".join([event] * 1001), headers=auth(NDJSON))
        assert r.status_code == 413 and "1001 events in one request; at most 1000" in r.json()["error"]
        r = c.post("/v1/events", content=b"[" + event + b', {"event_id": }]', headers=auth(JSON))
        assert r.status_code == 400 and "not valid JSON: element 1" in r.json()["error"]
        r = c.post("/v1/events", content=b"[" + event + b", {", headers=auth(JSON))
        assert r.status_code == 400 and "the JSON array is not closed" in r.json()["error"]
        r = c.post("/v1/events?atomic=true", content=b"[" + event + b', {"nope": 1}]', headers=auth(JSON))
        assert r.status_code == 400 and r.json()["accepted"] == 0 and r.json()["rejected"][0]["index"] == 1
        assert c.post("/v1/events", content=b"\n\n", headers=auth(NDJSON)).status_code == 400
        assert c.get("/v1/events").status_code == 405 and c.get("/nope").status_code == 404
        assert c.get("/readyz").json()["ready"] is True
    assert pull_all(pubsub_only, subscription, idle_seconds=2) == []  # nothing of those was published


def test_concatenated_members_and_frames_publish_every_event(serve: tuple[Service, str], pubsub_only: Cloud) -> None:
    """``cat a.gz b.gz`` (and two zstd frames) is one body: all 20 events are published, not the first 10; a body
    with junk after its last member, or cut short, is refused whole (400, nothing published)."""
    service, subscription = serve
    events = [e for e, _ in receipts(20, seed=11, invalid_fraction=0.0)]
    a, b = b"\n".join(events[:10]) + b"\n", b"\n".join(events[10:]) + b"\n"
    zstd = zstandard.ZstdCompressor().compress
    with httpx.Client(base_url=service.url, timeout=30) as c:
        for compress, encoding in [(gzip.compress, "gzip"), (zstd, "zstd")]:
            headers = auth({**NDJSON, "content-encoding": encoding})
            r = c.post("/v1/events", content=compress(a) + compress(b), headers=headers)
            assert r.status_code == 200 and r.json()["accepted"] == 20, r.text
            assert len(pull_all(pubsub_only, subscription, idle_seconds=2)) == 20
            for bad in [compress(a) + compress(b) + b"trailing junk", (compress(a) + compress(b))[:-4]]:
                r = c.post("/v1/events", content=bad, headers=headers)
                assert r.status_code == 400, r.text
    assert pull_all(pubsub_only, subscription, idle_seconds=2) == []


@contextmanager
def _serve_behind_proxy(cloud: Cloud, tmp_path: Path) -> Iterator[tuple[httpx.Client, TcpProxy, str]]:
    """``streamlake serve`` reaching the emulator through a proxy the test cuts or stalls: (a client of it, the
    proxy, the subscription)."""
    topic, subscription = cloud.create_topic_and_subscription()
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    proxy = TcpProxy(cloud.pubsub_host)
    service = Service("serve", "--topic", topic, "--schema", str(schema), "--publish-timeout", "2",
                      env={"PUBSUB_EMULATOR_HOST": proxy.host})  # fmt: skip
    try:
        with httpx.Client(base_url=service.url, timeout=60) as client:
            yield client, proxy, subscription
    finally:
        proxy.restore()
        assert service.stop() == 0, "".join(service.lines)
        proxy.close()


def test_pubsub_unreachable_is_503_and_nothing_is_half_published(pubsub_only: Cloud, tmp_path: Path) -> None:
    events = [d for d, _ in receipts(600, seed=8)]
    with _serve_behind_proxy(pubsub_only, tmp_path) as (c, proxy, subscription):
        first = c.post("/v1/events", content=b"\n".join(events[:200]), headers=NDJSON)
        assert first.status_code == 200 and first.json()["accepted"] == 200
        proxy.cut()
        down = c.post("/v1/events", content=b"\n".join(events[200:400]), headers=NDJSON)
        assert down.status_code == 503 and down.headers["retry-after"] == "5", down.text
        assert "nothing of this request was published" in down.json()["error"]
        assert c.get("/readyz").status_code == 503
        proxy.restore()
        time.sleep(5.5)  # Retry-After passed with no request: ready again, though no publish succeeded yet
        assert c.get("/readyz").status_code == 200
        again = c.post("/v1/events", content=b"\n".join(events[200:400]), headers=NDJSON)  # the client retries
        assert again.status_code == 200, again.text
        last = c.post("/v1/events", content=b"\n".join(events[400:]), headers=NDJSON)
        assert last.status_code == 200 and c.get("/readyz").status_code == 200
    ids = sorted(json.loads(m.message.data)["event_id"] for m in pull_all(pubsub_only, subscription))
    assert ids == sorted(json.loads(e)["event_id"] for e in events)  # each once: none lost, none twice


def test_a_publish_not_confirmed_in_time_says_it_may_have_gone_out(pubsub_only: Cloud, tmp_path: Path) -> None:
    """Pub/Sub not answering within --publish-timeout (the request was sent; whether it was published is unknown):
    503 that says so, never "nothing was published"; the client's event_ids make its retry recognisable."""
    events = [d for d, _ in receipts(20, seed=9, invalid_fraction=0.0)]
    with _serve_behind_proxy(pubsub_only, tmp_path) as (c, proxy, subscription):
        assert c.post("/v1/events", content=b"\n".join(events[:10]), headers=NDJSON).status_code == 200
        proxy.stall()
        down = c.post("/v1/events", content=b"\n".join(events[10:]), headers=NDJSON)
        assert down.status_code == 503, down.text
        error = down.json()["error"]
        assert "may or may not have been published" in error and "nothing of this request" not in error
        proxy.restore()
        again = c.post("/v1/events", content=b"\n".join(events[10:]), headers=NDJSON)
        assert again.status_code == 200, again.text
    ids = [json.loads(m.message.data)["event_id"] for m in pull_all(pubsub_only, subscription)]
    assert set(ids) == {json.loads(e)["event_id"] for e in events}  # the retry's repeats carry the same ids


def test_a_transform_turns_raw_events_into_the_schemas(pubsub_only: Cloud, tmp_path: Path) -> None:
    topic, subscription = pubsub_only.create_topic_and_subscription()
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps([*RECEIPT_SCHEMA, {"name": "ingest_time", "type": "TIMESTAMP"}]))
    transform = tmp_path / "transform.toml"
    transform.write_text('[transform]\nrename = { shop = "store_id" }\ndrop = ["debug", "items.internal"]\n'
                         'defaults = { currency = "EUR" }\nhash = ["payment.card_last4"]\n')  # fmt: skip
    service = Service("serve", "--topic", topic, "--schema", str(schema), "--transform", str(transform),
                      env={"PUBSUB_EMULATOR_HOST": pubsub_only.pubsub_host})  # fmt: skip
    raw = []
    for data, _ in receipts(200, seed=9):
        e = json.loads(data)
        e["shop"] = e.pop("store_id")
        e["debug"] = {"trace": "abc"}
        e.pop("currency")
        for item in e["items"]:
            item["internal"] = 1
        raw.append(e)
    try:
        with httpx.Client(base_url=service.url, timeout=60) as c:
            answer = c.post("/v1/events", content=b"\n".join(json.dumps(e).encode() for e in raw), headers=NDJSON)
            assert answer.json() == {"accepted": 200, "rejected": []}, answer.text
    finally:
        assert service.stop() == 0, "".join(service.lines)
    published = {e["event_id"]: e for e in (json.loads(m.message.data) for m in pull_all(pubsub_only, subscription))}
    assert len(published) == 200
    for e in raw:
        out = published[e["event_id"]]
        assert out["store_id"] == e["shop"] and out["currency"] == "EUR" and "debug" not in out
        assert all("internal" not in item for item in out["items"])
        if e["payment"].get("card_last4") is not None:
            assert out["payment"]["card_last4"] == hashlib.sha256(e["payment"]["card_last4"].encode()).hexdigest()


def _slow_request(url: str, path: str = "/v1/events", length: int = 1000) -> socket.socket:
    """A client that sends its headers and a few body bytes, then nothing: it holds a place."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
              f"Content-Length: {length}\r\n\r\n{{".encode())  # fmt: skip
    return s


def _status_of(s: socket.socket) -> tuple[int, str]:
    """The answer's status and text (the server closes the connection after it)."""
    parts = []
    while chunk := s.recv(65536):
        parts.append(chunk)
    text = b"".join(parts).decode(errors="replace")
    return int(text.split(" ", 2)[1]), text


def test_slow_clients_time_out_and_a_flood_is_shed_with_retry_after(pubsub_only: Cloud, tmp_path: Path) -> None:
    """A client trickling its body gets 408 after --body-timeout instead of holding a place for ever; past
    --max-inflight-requests a request is answered 503 with Retry-After at once; the service keeps answering."""
    topic, subscription = pubsub_only.create_topic_and_subscription()
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    service = Service("serve", "--topic", topic, "--schema", str(schema), "--max-inflight-requests", "2",
                      "--body-timeout", "3", env={"PUBSUB_EMULATOR_HOST": pubsub_only.pubsub_host})  # fmt: skip
    try:
        started = time.monotonic()
        slow = [_slow_request(service.url) for _ in range(2)]
        time.sleep(0.5)
        with httpx.Client(base_url=service.url, timeout=30) as c:
            event = next(receipts(1, seed=7))[0]
            r = c.post("/v1/events", content=event, headers=JSON)
            assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
            assert "over capacity" in r.json()["error"]
            for s in slow:
                status, head = _status_of(s)
                assert status == 408 and "did not arrive within 3 s" in head, head
                s.close()
            assert 3 <= time.monotonic() - started < 20
            r = c.post("/v1/events", content=event, headers=JSON)  # the places are free again
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    finally:
        assert service.stop() == 0, "".join(service.lines)
    assert len(pull_all(pubsub_only, subscription, idle_seconds=2)) == 1
