"""Worker CPU per event, end to end (pull → decode → Arrow → append → ack), into BigQuery, the lake, or both
(one pull, two sinks, one ack), or an Iceberg table (SQLite catalog, warehouse on disk; against the lake alone on
the same messages, plain and in envelopes), against the pipeline a typical user writes (streaming-pull callback →
json.loads → pydantic → insert_rows_json in batches of 500).

Both run in this process on the same backlog of receipts (1% invalid) on the local emulators; the CPU measured is
this process's (``time.process_time``, all threads), so the emulators' CPU is excluded.
Run: ``make bench-worker`` (200,000 receipts); CI runs it on a small backlog as a smoke test.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from baseline_pipeline import run_baseline
from conftest import SUMMARY, Row, server_or_skip
from run_worker import run_until_acked

from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.config import BatchConfig, LakeConfig, SchemaUpdateConfig, WorkerConfig
from streamlake_fast.destinations.options import IcebergConfig
from streamlake_fast.edge.publisher import Publisher
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.runtimes.worker import build_worker
from streamlake_fast.transports.gcp.channels import bigquery_client
from tests.servers.processes import Server, start_bigquery, start_pubsub

EVENTS = int(os.environ.get("STREAMLAKE_WORKER_BENCH_EVENTS", "200000"))
PROJECT = "bench-project"


_server = server_or_skip


@pytest.fixture(scope="module")
def pubsub() -> Iterator[Server]:
    server = _server(start_pubsub)
    os.environ["PUBSUB_EMULATOR_HOST"] = server.host
    yield server
    server.stop()


@pytest.fixture
def bigquery() -> Iterator[Server]:
    server = _server(start_bigquery, PROJECT)  # a fresh one per run: bqemulator copies the table on every write
    os.environ["BIGQUERY_EMULATOR_HOST"] = server.host
    os.environ["BIGQUERY_STORAGE_EMULATOR_HOST"] = server.extra_host
    yield server
    server.stop()


def _backlog(n: int, envelope: Envelope | None = None) -> tuple[str, str, str, int, int]:
    """(subscription, table, dead-letter topic, valid events, messages) of ``n`` receipts published as plain
    messages by Google's client, or sealed into envelopes by this project's publisher."""
    from google.cloud import bigquery as bq
    from google.cloud import pubsub_v1

    suffix = uuid.uuid4().hex[:8]
    topic = f"projects/{PROJECT}/topics/bench-{suffix}"
    subscription = f"projects/{PROJECT}/subscriptions/bench-{suffix}"
    dlq = f"projects/{PROJECT}/topics/dlq-{suffix}"
    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=1000, max_bytes=5_000_000, max_latency=0.05)
    )
    publisher.create_topic(name=topic)
    publisher.create_topic(name=dlq)
    pubsub_v1.SubscriberClient().create_subscription(name=subscription, topic=topic, ack_deadline_seconds=60)
    client = bigquery_client(PROJECT)
    client.create_dataset(f"ds_{suffix}")
    table = f"{PROJECT}.ds_{suffix}.receipts"
    client.create_table(bq.Table(table, schema=[bq.SchemaField.from_api_repr(f) for f in RECEIPT_SCHEMA]))
    pairs = list(receipts(n, seed=11, invalid_fraction=0.01))
    invalid = sum(kind is not None for _, kind in pairs)
    if envelope is not None:
        with Publisher(topic, validate=False, enrich=False, envelope=envelope) as sealer:
            sealer.publish([data for data, _ in pairs])
        return subscription, table, dlq, n - invalid, sealer.messages
    futures = [publisher.publish(topic, data) for data, _ in pairs]
    for f in futures:
        f.result(timeout=300)
    return subscription, table, dlq, n - invalid, n


def _record(benchmark: Any, name: str, cpu: float, wall: float, rows: int, note: str = "") -> None:
    benchmark.extra_info.update(cpu_us_per_event=cpu / EVENTS * 1e6, events_per_s=EVENTS / wall, rows=rows)
    SUMMARY.worker.append(Row("worker", name, (cpu, wall), rows, f"{EVENTS / wall:,.0f} events/s wall{note}"))


@pytest.mark.parametrize("sinks", ["bigquery", "bigquery, schema_update off", "lake", "bigquery+lake",
                                   "bigquery+lake, zstd envelopes of 64 KB", "iceberg",
                                   "lake, zstd envelopes of 64 KB", "iceberg, zstd envelopes of 64 KB"])  # fmt: skip
def test_streamlake_worker(benchmark: Any, pubsub: Server, bigquery: Server, sinks: str, tmp_path: Path) -> None:
    envelope = Envelope(max_bytes=64_000) if "envelopes" in sinks else None
    subscription, table, dlq, valid, messages = _backlog(EVENTS, envelope)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    lake = LakeConfig(root=str(tmp_path / "lake") if "lake" in sinks else "", partition_by="event_time")
    iceberg = IcebergConfig()
    if "iceberg" in sinks:  # the default commit interval (2 s) and maintenance
        iceberg = IcebergConfig(table="bench.receipts", catalog=f"sqlite:///{tmp_path}/catalog.db",
                                warehouse=str(tmp_path / "warehouse"))  # fmt: skip
    config = WorkerConfig(subscription=subscription, table=table if "bigquery" in sinks else "", dead_letter_topic=dlq,
                          schema=str(schema), lake=lake, iceberg=iceberg, progress_interval=3600,
                          batch=BatchConfig(max_rows=20_000),
                          schema_update=SchemaUpdateConfig(mode="off" if "off" in sinks else "follow"))  # fmt: skip
    parquet_bytes = [0]

    def run() -> tuple[float, float, int]:
        worker = build_worker(config)
        cpu, wall = run_until_acked(worker, EVENTS, messages)
        parquet_bytes[0] = sum(getattr(s, "bytes_written", 0) for s in worker.sinks)
        return cpu, wall, worker.stats.rows

    cpu, wall, rows = benchmark.pedantic(run, rounds=1, iterations=1)
    assert rows == valid
    note = ""
    if "bigquery" in sinks:
        landed = next(iter(bigquery_client(PROJECT).query(f"SELECT COUNT(*) AS n FROM `{table}`").result()))["n"]
        assert landed == valid
    if "lake" in sinks:
        from streamlake_fast.sinks.lake import verify_lake

        report = verify_lake(str(tmp_path / "lake"))
        assert report.rows == valid and report.duplicate_ids == 0
        benchmark.extra_info["parquet_bytes_per_event"] = parquet_bytes[0] / valid
        note = f", {parquet_bytes[0] / valid:.0f} Parquet B/event"
    if "iceberg" in sinks:
        from streamlake_fast.sinks.iceberg import open_catalog
        from streamlake_fast.sinks.iceberg.verify import verify_iceberg

        ice = verify_iceberg(open_catalog(iceberg.catalog, warehouse=iceberg.warehouse).load_table(iceberg.table))
        assert ice.rows == valid and ice.duplicate_ids == 0
    _record(benchmark, f"streamlake_fast worker → {sinks}", cpu, wall, rows, note)


def test_baseline_pipeline(benchmark: Any, pubsub: Server, bigquery: Server) -> None:
    subscription, table, _, valid, _ = _backlog(EVENTS)
    client = bigquery_client(PROJECT)

    def run() -> tuple[float, float, int]:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        counts = run_baseline(subscription, table, EVENTS, client)
        return time.process_time() - cpu0, time.perf_counter() - wall0, counts["rows"]

    cpu, wall, rows = benchmark.pedantic(run, rounds=1, iterations=1)
    assert rows == valid
    _record(benchmark, "baseline (subscribe callback → json.loads → pydantic → insert_rows_json x500)", cpu, wall, rows)
