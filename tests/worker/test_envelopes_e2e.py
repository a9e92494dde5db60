"""Envelopes end to end on the real servers: the product's publisher seals receipts (bad ones included, unvalidated)
into zstd envelopes, plain messages share the subscription or queue, and the worker lands every valid event once
in the lake and each bad one alone in the dead letters, with its message id and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from streamlake_fast import Schema
from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.edge.publisher import Publisher
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.sinks.lake import verify_lake
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)
from tests.servers.fixtures import Cloud
from tests.worker.helpers import run_worker

SCHEMA = Schema.from_bigquery(RECEIPT_SCHEMA)


def publish_mixed(pairs: list[tuple[bytes, str | None]], **where: Any) -> Publisher:
    """The first two thirds sealed into envelopes of ~16 KB of NDJSON, the rest as plain messages; unvalidated,
    so that the bad events travel too."""
    cut = len(pairs) * 2 // 3
    sealed = Publisher(schema=SCHEMA, validate=False, enrich=False, envelope=Envelope(max_bytes=16_000), **where)
    with sealed, Publisher(schema=SCHEMA, validate=False, enrich=False, **where) as plain:
        assert sealed.publish([m for m, _ in pairs[:cut]]).published == cut
        assert plain.publish([m for m, _ in pairs[cut:]]).published == len(pairs) - cut
    assert 0 < sealed.messages < cut // 20  # many events per message
    return sealed


def schema_file(tmp_path: Path) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(RECEIPT_SCHEMA))
    return str(path)


def check_landed(pairs: list[tuple[bytes, str | None]], lake: Path, dead_dir: Path) -> None:
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    valid = sorted(json.loads(m)["event_id"] for m, kind in pairs if kind is None)
    assert sorted(table.column("event_id").to_pylist()) == valid  # each valid event once
    assert max(table.column("event_index").to_pylist()) > 0
    report = verify_lake(str(lake))
    assert report.duplicate_rows == 0
    dead = [json.loads(line) for f in dead_dir.rglob("*.ndjson") for line in f.read_text().splitlines()]
    bad = {m for m, kind in pairs if kind is not None}
    assert len(dead) == len(bad)
    assert {d["data"].encode() for d in dead} == bad  # each bad event alone, not its envelope
    sealed = [d for d in dead if d["event_index"] > 0]
    assert sealed and all(d["message_id"] for d in sealed)


def test_pubsub_envelopes_and_plain_messages_on_one_subscription(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    pairs = list(receipts(3000, seed=5, invalid_fraction=0.02))
    publish_mixed(pairs, topic=topic)
    lake, dead = tmp_path / "lake", tmp_path / "dead"
    done = run_worker(cloud, "--subscription", subscription, "--lake", str(lake), "--partition-by", "event_time",
                      "--dead-letter-dir", str(dead), "--schema", schema_file(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    check_landed(pairs, lake, dead)
    assert "events 3,000  messages " in done.stderr
    cost = next(line for line in done.stderr.splitlines() if line.startswith("cost: $"))
    print(cost)
    assert "Pub/Sub " in cost and "through Pub/Sub's export subscriptions: $" in cost


def test_sqs_envelopes_are_base64_text_and_land_once(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName=f"env-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    pairs = list(receipts(1500, seed=6, invalid_fraction=0.02))
    publish_mixed(pairs, queue=url)
    lake, dead = tmp_path / "lake", tmp_path / "dead"
    command = [sys.executable, "-m", "streamlake_fast.cli", "run", "--exit-when-drained", "--wait-time", "1",
               "--queue", url, "--lake", str(lake), "--partition-by", "event_time", "--dead-letter-dir", str(dead),
               "--schema", schema_file(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    check_landed(pairs, lake, dead)
