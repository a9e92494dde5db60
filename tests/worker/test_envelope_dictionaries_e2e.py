"""Envelopes compressed with a trained zstd dictionary, end to end on the Pub/Sub emulator and through the CLI: a
worker that lacks the dictionary dead-letters each envelope whole (``unknown_dictionary``), losing nothing; once
given it (``--envelope-dictionary``), the replayed envelopes land, every valid event once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds

from streamlake_fast import Schema
from streamlake_fast.codec.envelope import Dictionary, Envelope
from streamlake_fast.edge.publisher import Publisher
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.servers.fixtures import Cloud
from tests.worker.helpers import run_worker, worker_env


def streamlake(cloud: Cloud, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streamlake_fast.cli", *args], env=worker_env(cloud),
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def dead_letters(lake: Path) -> list[dict[str, object]]:
    return [json.loads(line) for f in (lake / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()]


def test_dictionary_envelopes_need_their_dictionary_and_lose_nothing_without_it(cloud: Cloud, tmp_path: Path) -> None:
    dictionary = tmp_path / "receipts.dict"
    trained = streamlake(cloud, "dictionary", "train", "--generate", "5000", "--out", str(dictionary))
    assert trained.returncode == 0, trained.stderr
    assert f"→ {dictionary}" in trained.stdout and dictionary.stat().st_size <= 16_384
    topic, subscription = cloud.create_topic_and_subscription()
    pairs = list(receipts(1200, seed=9, invalid_fraction=0.02))  # other receipts than the dictionary's
    envelope = Envelope(max_bytes=4_000, dictionary=Dictionary.load(dictionary))
    with Publisher(topic, Schema.from_bigquery(RECEIPT_SCHEMA), validate=False, enrich=False,
                   envelope=envelope) as publisher:  # fmt: skip
        assert publisher.publish([m for m, _ in pairs]).published == len(pairs)
    envelopes = publisher.messages
    assert 100 < envelopes < len(pairs) // 5  # ~10 events per envelope of 4 KB
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    lake = tmp_path / "lake"
    worker = ("--subscription", subscription, "--lake", str(lake), "--partition-by", "event_time",
              "--schema", str(schema))  # fmt: skip

    without = run_worker(cloud, *worker)
    assert without.returncode == 0, without.stderr[-3000:]
    dead = dead_letters(lake)
    assert len(dead) == envelopes and {d["reason_code"] for d in dead} == {"unknown_dictionary"}
    assert "zstd dictionary" in str(dead[0]["message"])
    assert not list(lake.rglob("*.parquet"))

    replayed = streamlake(cloud, "dead-letters", "replay", "--from-files", str(lake), "--to-topic", topic,
                          "--code", "unknown_dictionary")  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    (lake / "_rejects").rename(tmp_path / "first_rejects")
    done = run_worker(cloud, *worker, "--envelope-dictionary", str(dictionary))
    assert done.returncode == 0, done.stderr[-3000:]
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    valid = sorted(json.loads(m)["event_id"] for m, kind in pairs if kind is None)
    assert sorted(table.column("event_id").to_pylist()) == valid  # each valid event once
    bad = {m for m, kind in pairs if kind is not None}
    assert {str(d["data"]).encode() for d in dead_letters(lake)} == bad  # each bad event alone
