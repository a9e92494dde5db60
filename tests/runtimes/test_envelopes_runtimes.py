"""Envelopes through the other runtimes: the Lambda handler (records received from moto's SQS) and the push handler
(a real ``streamlake push-handler`` process posted wrapped deliveries): every event lands once, a bad one is
dead-lettered alone with its line."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as ds
import zstandard

from streamlake_fast import Schema
from streamlake_fast.aws import sqs_handler
from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.edge.publisher import Publisher
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.runtimes.test_lambda_sqs import lambda_records
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)
from tests.servers.processes import free_port, wait_for_http


def _landed(lake: Path) -> tuple[list[str], list[dict[str, Any]]]:
    table = ds.dataset(lake, format="parquet", partitioning="hive", exclude_invalid_files=True,
                       ignore_prefixes=["_"]).to_table()  # fmt: skip
    dead = [json.loads(line) for f in (lake / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()]
    return sorted(table.column("event_id").to_pylist()), dead


def test_lambda_opens_envelopes_from_sqs(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName=f"lambda-env-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    pairs = list(receipts(300, seed=8, invalid_fraction=0.05))
    with Publisher(queue=url, schema=Schema.from_bigquery(RECEIPT_SCHEMA), validate=False, enrich=False,
                   envelope=Envelope(max_bytes=8_000)) as publisher:  # fmt: skip
        publisher.publish([m for m, _ in pairs])
    records = lambda_records(sqs, url)
    assert 1 < len(records) < 30
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    handler = sqs_handler(schema=schema, lake=str(tmp_path / "lake"), partition_by="event_time")
    assert handler({"Records": records}, None) == {"batchItemFailures": []}
    ids, dead = _landed(tmp_path / "lake")
    assert ids == sorted(json.loads(m)["event_id"] for m, kind in pairs if kind is None)
    assert sorted(d["data"] for d in dead) == sorted(m.decode() for m, kind in pairs if kind is not None)
    assert {d["message_id"] for d in dead} <= {r["messageId"] for r in records}


def test_push_handler_opens_envelopes(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    port = free_port()
    lake = tmp_path / "lake"
    proc = subprocess.Popen([sys.executable, "-m", "streamlake_fast.cli", "push-handler", "--lake", str(lake),
                             "--schema", str(schema), "--partition-by", "event_time", "--port", str(port)],
                            env=dict(os.environ), stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    pairs = list(receipts(200, seed=9, invalid_fraction=0.05))
    bodies = []
    for i in range(0, len(pairs), 50):
        chunk = b"".join(m + b"\n" for m, _ in pairs[i : i + 50])
        data = zstandard.ZstdCompressor().compress(chunk)
        message = {"data": base64.b64encode(data).decode(), "messageId": f"env-{i}",
                   "publishTime": "2026-12-07T10:00:00Z",
                   "attributes": {"content-encoding": "zstd", "content-type": "application/x-ndjson"}}  # fmt: skip
        bodies.append(json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"}).encode())
    try:
        wait_for_http(proc, url)
        with httpx.Client(timeout=60) as c:
            answers = [c.post(url, content=b, headers={"content-type": "application/json"}) for b in bodies]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert [a.status_code for a in answers] == [204] * 4
    ids, dead = _landed(lake)
    assert ids == sorted(json.loads(m)["event_id"] for m, kind in pairs if kind is None)
    bad = [(i // 50, i % 50) for i, (_, kind) in enumerate(pairs) if kind is not None]
    assert sorted((int(d["message_id"][4:]) // 50, d["event_index"]) for d in dead) == bad
