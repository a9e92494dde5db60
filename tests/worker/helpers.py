"""Helpers for worker tests: publish receipts, run the worker, read back what landed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import pyarrow as pa

from streamlake_fast import Codec
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
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


class Running:
    """A worker process whose stderr is read as it runs."""

    def __init__(self, cloud: Cloud, *args: str, env: dict[str, str] | None = None, ack_deadline: str = "10") -> None:
        self.proc = subprocess.Popen(
            worker_command(cloud, "--ack-deadline", ack_deadline, *args),
            env=env or worker_env(cloud),
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def acked(self) -> int:
        for line in reversed(self.lines):
            if line.startswith("[worker]"):
                return int(line.split(" acked")[0].rsplit(", ", 1)[1].replace(",", ""))
        return 0

    def wait_for_acked(self, at_least: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.acked() < at_least:
            assert self.proc.poll() is None, "".join(self.lines[-30:])
            assert time.monotonic() < deadline, "".join(self.lines[-30:])
            time.sleep(0.2)

    def wait(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


def kill_mid_run(cloud: Cloud, topic: str, args: tuple[str, ...], events: int, kills: int) -> None:
    """``kills`` rounds of: publish ``events // kills`` receipts, start the worker, kill -9 it once it has
    acknowledged 1,000 (somewhere among writes, commits and acknowledgements), wait for its leases to lapse."""
    import signal

    for kill in range(kills):
        publish_receipts(cloud, topic, events // kills, seed=kill)
        worker = Running(cloud, *args)
        worker.wait_for_acked(1_000)  # this worker's own
        time.sleep(0.2 + (kill % 4) * 0.3)
        worker.proc.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(12)  # the killed worker's leases lapse
