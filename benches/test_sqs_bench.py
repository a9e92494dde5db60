"""SQS → lake, CPU per event end to end (receive → decode → Arrow → Parquet → delete), against the loop an AWS
Python user writes (boto3 receive_message → json.loads → pydantic → pa.Table.from_pylist → Parquet →
delete_message_batch). Both run in this process on the same backlog on moto's local server; the CPU measured is
this process's (``time.process_time``, all threads), so the server's is excluded.
Run: ``make bench-sqs`` (20,000 receipts); CI runs it on a small backlog as a smoke test.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from baseline_sqs import run_sqs_baseline
from conftest import SUMMARY, Row
from run_worker import run_until_acked

from streamlake_fast.config import BatchConfig, LakeConfig, SqsConfig, WorkerConfig
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.runtimes.worker import build_worker
from tests.servers.aws import start_s3
from tests.servers.processes import Server, ServerUnavailable

EVENTS = int(os.environ.get("STREAMLAKE_SQS_BENCH_EVENTS", "20000"))


@pytest.fixture(scope="module")
def moto() -> Iterator[Server]:
    try:
        server = start_s3()
    except ServerUnavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    env = {"AWS_ENDPOINT_URL": f"http://{server.host}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


def _backlog(n: int) -> tuple[Any, str, int]:
    import boto3

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    valid = 0
    entries: list[dict[str, Any]] = []
    for data, kind in receipts(n, seed=11, invalid_fraction=0.01):
        valid += kind is None
        entries.append({"Id": str(len(entries)), "MessageBody": data.decode()})
        if len(entries) == 10:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
            entries = []
    if entries:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return sqs, url, valid


def _record(name: str, cpu: float, wall: float, rows: int) -> None:
    SUMMARY.sqs.append(Row("sqs", name, (cpu, wall), rows, f"{EVENTS / wall:,.0f} events/s wall"))


def test_streamlake_sqs_to_lake(benchmark: Any, moto: Server, tmp_path: Path) -> None:
    _, url, valid = _backlog(EVENTS)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    config = WorkerConfig(queue=url, schema=str(schema), progress_interval=3600,
                          lake=LakeConfig(root=str(tmp_path / "lake"), partition_by="event_time"),
                          sqs=SqsConfig(wait_time=1), batch=BatchConfig(max_rows=5000))  # fmt: skip

    def run() -> tuple[float, float, int]:
        worker = build_worker(config)
        cpu, wall = run_until_acked(worker, EVENTS)
        return cpu, wall, worker.stats.rows

    cpu, wall, rows = benchmark.pedantic(run, rounds=1, iterations=1)
    assert rows == valid
    assert ds.dataset(tmp_path / "lake", format="parquet", partitioning="hive").count_rows() == valid
    _record("streamlake_fast worker: SQS → lake", cpu, wall, rows)


def test_baseline_sqs_to_lake(benchmark: Any, moto: Server, tmp_path: Path) -> None:
    sqs, url, valid = _backlog(EVENTS)
    out = tmp_path / "baseline"
    out.mkdir()

    def run() -> tuple[float, float, int]:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        counts = run_sqs_baseline(sqs, url, EVENTS, out)
        return time.process_time() - cpu0, time.perf_counter() - wall0, counts["rows"]

    cpu, wall, rows = benchmark.pedantic(run, rounds=1, iterations=1)
    assert rows == valid
    assert ds.dataset(out, format="parquet").count_rows() == valid
    _record("baseline (boto3 receive → json.loads → pydantic → from_pylist → Parquet → delete)", cpu, wall, rows)
