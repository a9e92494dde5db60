"""Helpers for worker tests: publish receipts, run the worker, read back what landed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pyarrow as pa

from streamlake_fast import Codec
from streamlake_fast.generate import RECEIPT_SCHEMA, receipts
from tests.servers.fixtures import Cloud


def publish_receipts(
    cloud: Cloud, topic: str, n: int, invalid_fraction: float = 0.01, seed: int = 1
) -> list[tuple[bytes, str | None]]:
    pairs = list(receipts(n, seed=seed, invalid_fraction=invalid_fraction))
    publisher = cloud.publisher()
    futures = [publisher.publish(topic, data, source="test") for data, _ in pairs]
    for f in futures:
        f.result(timeout=120)
    return pairs


def expected_rows(pairs: list[tuple[bytes, str | None]]) -> pa.Table:
    codec = Codec(__import__("streamlake_fast").Schema.from_bigquery(RECEIPT_SCHEMA))
    result = codec.decode([m for m, kind in pairs if kind is None])
    assert not result.rejects
    return pa.Table.from_batches([result.batch]).sort_by("event_id")


def worker_command(cloud: Cloud, *args: str) -> list[str]:
    return [sys.executable, "-m", "streamlake_fast.cli", "run", "--progress-interval", "1", *args]


def worker_env(cloud: Cloud) -> dict[str, str]:
    return {**os.environ, **cloud.env}


def run_worker(cloud: Cloud, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        worker_command(cloud, "--exit-when-drained", *args),
        env=worker_env(cloud),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def table_rows(cloud: Cloud, table: str) -> pa.Table:
    client = cloud.bigquery()
    rows = client.query(f"SELECT * FROM `{table}`").result()
    return rows.to_arrow(create_bqstorage_client=False)


def pull_all(cloud: Cloud, subscription: str, idle_seconds: float = 6.0) -> list[Any]:
    """Every message left on a subscription (acknowledged as read)."""
    sub = cloud.subscriber()
    out: list[Any] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < idle_seconds:
        resp = sub.pull(subscription=subscription, max_messages=1000, timeout=10)
        if resp.received_messages:
            out.extend(resp.received_messages)
            sub.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in resp.received_messages])
            idle_since = time.monotonic()
    return out
