"""``streamlake serve --queue`` as a real process on moto's SQS, driven over HTTP: mixed request shapes, bodies
longer than one ``SendMessageBatch``, entries SQS itself refuses, and SQS becoming unreachable (503)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA, receipts
from tests.http.helpers import Service
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)
from tests.servers.tcp_proxy import TcpProxy

NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:  # noqa: F811
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        out += batch
    return out


def _schema(tmp_path: Path) -> str:
    path = tmp_path / "receipts.json"
    path.write_text(json.dumps(RECEIPT_SCHEMA))
    return str(path)


def test_requests_are_queued_exactly_and_refusals_named(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="serve-mixed", Attributes={"MaximumMessageSize": "2048"})["QueueUrl"]
    pairs = [p for p in receipts(600, seed=11, invalid_fraction=0.03) if p[1] != "truncated_json"]
    big = json.loads(pairs[5][0]) | {"store_id": "x" * 3000}  # valid, but over the queue's message size
    pairs[5] = (json.dumps(big).encode(), "too_big")
    requests, start = [], 0
    for n in [1, 3, 10, 25, 60, 7, 11, 60, 60, 200]:  # one call, several, and bodies that straddle calls
        requests.append(pairs[start : start + n])
        start += n
    service = Service("serve", "--queue", url, "--schema", _schema(tmp_path), env={})
    try:
        with httpx.Client(base_url=service.url, timeout=60) as c, ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda r: c.post("/v1/events", content=b"[" + b",".join(d for d, _ in r) + b"]", headers=JSON),
                requests,
            ))  # fmt: skip
    finally:
        assert service.stop() == 0, "".join(service.lines)
    expected: set[str] = set()
    for chunk, answer in zip(requests, answers, strict=True):
        body = answer.json()
        refused = [i for i, (_, kind) in enumerate(chunk) if kind not in (None, "missing_event_id")]
        assert [r["index"] for r in body["rejected"]] == refused, body
        for r in body["rejected"]:
            kind = chunk[r["index"]][1]
            assert r["code"] == ("refused_by_sink" if kind == "too_big" else INVALID_KINDS[kind]), r  # type: ignore[index]
        assert body["accepted"] == len(chunk) - len(refused)
        expected |= {json.loads(d).get("event_id", "") for d, kind in chunk if kind is None}
    queued = [json.loads(m["Body"]) for m in _drain(sqs, url)]
    ids = [e["event_id"] for e in queued]
    assert len(ids) == len(set(ids)) == sum(a.json()["accepted"] for a in answers)  # each accepted event once
    assert expected <= set(ids)


def test_queue_unreachable_is_503_with_the_count_already_queued(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="serve-down")["QueueUrl"]
    import os

    proxy = TcpProxy(os.environ["AWS_ENDPOINT_URL"].removeprefix("http://"))
    service = Service("serve", "--queue", url, "--schema", _schema(tmp_path), "--publish-timeout", "2",
                      env={"AWS_ENDPOINT_URL": f"http://{proxy.host}"})  # fmt: skip
    events = [d for d, _ in receipts(40, seed=12)]
    try:
        with httpx.Client(base_url=service.url, timeout=60) as c:
            assert c.post("/v1/events", content=b"\n".join(events[:10]), headers=NDJSON).json()["accepted"] == 10
            proxy.cut()
            down = c.post("/v1/events", content=b"\n".join(events[10:15]), headers=NDJSON)
            assert down.status_code == 503 and down.headers["retry-after"] == "5", down.text
            assert "nothing of this request was published" in down.json()["error"]  # five events: one call
            assert c.get("/readyz").status_code == 503
            proxy.restore()
            again = c.post("/v1/events", content=b"\n".join(events[10:]), headers=NDJSON)
            assert again.status_code == 200 and again.json()["accepted"] == 30, again.text
    finally:
        proxy.restore()
        assert service.stop() == 0, "".join(service.lines)
        proxy.close()
    ids = sorted(json.loads(m["Body"])["event_id"] for m in _drain(sqs, url))
    assert ids == sorted(json.loads(e)["event_id"] for e in events)


def test_a_missing_queue_stops_serve_at_start(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    import subprocess
    import sys

    url = sqs.create_queue(QueueName="serve-gone")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    done = subprocess.run([sys.executable, "-m", "streamlake_fast.cli", "serve", "--queue", url, "--schema",
                           _schema(tmp_path), "--port", "0"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and f"cannot use queue {url}" in done.stderr, done.stderr
