"""Faults on the real emulators: kill -9 and restart, SIGTERM, and the sink unavailable for a while."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from streamlake_fast.local.generate import RECEIPT_SCHEMA
from tests.servers.fixtures import Cloud
from tests.servers.tcp_proxy import TcpProxy
from tests.worker.helpers import Running, expected_rows, publish_receipts, run_worker, table_rows, worker_env

EVENTS = int(os.environ.get("STREAMLAKE_FAULT_EVENTS", "20000"))
ACK_DEADLINE = "10"


def _setup(cloud: Cloud, n: int = EVENTS) -> tuple[str, str, list[tuple[bytes, str | None]]]:
    topic, subscription = cloud.create_topic_and_subscription(ack_deadline=int(ACK_DEADLINE))
    _dlq_topic, _ = cloud.create_topic_and_subscription("dlq")
    table = cloud.create_table(RECEIPT_SCHEMA)
    pairs = publish_receipts(cloud, topic, n, invalid_fraction=0.01)
    return subscription, table, pairs


def _args(subscription: str, table: str, cloud: Cloud, *extra: str) -> tuple[str, ...]:
    # Small batches so that a run is many writes and the faults land mid-run.
    return ("--subscription", subscription, "--table", table, "--dead-letter-topic", cloud.topic("dlq"),
            "--max-rows", "500", *extra)  # fmt: skip


def _missing_and_duplicates(cloud: Cloud, table: str, pairs: list[tuple[bytes, str | None]]) -> tuple[int, int]:
    landed = Counter(table_rows(cloud, table).column("event_id").to_pylist())
    want = set(expected_rows(pairs).column("event_id").to_pylist())
    assert set(landed) <= want, "rows that are not valid events landed"
    return len(want - set(landed)), sum(c - 1 for c in landed.values())


def test_kill_9_mid_run_then_restart_loses_nothing(cloud: Cloud) -> None:
    subscription, table, pairs = _setup(cloud)
    first = Running(cloud, *_args(subscription, table, cloud))
    first.wait_for_acked(EVENTS // 5)
    first.proc.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(int(ACK_DEADLINE) + 2)  # the killed worker's leases lapse and its messages come back

    done = run_worker(cloud, *_args(subscription, table, cloud, "--ack-deadline", ACK_DEADLINE))
    assert done.returncode == 0, done.stderr[-3000:]
    missing, duplicates = _missing_and_duplicates(cloud, table, pairs)
    print(f"kill -9: {missing} valid events missing, {duplicates} duplicate rows (written, not yet acked)")
    assert missing == 0


def test_sigterm_mid_run_exits_cleanly_and_loses_nothing(cloud: Cloud) -> None:
    subscription, table, pairs = _setup(cloud)
    first = Running(cloud, *_args(subscription, table, cloud, "--mode", "committed"))
    first.wait_for_acked(EVENTS // 5)
    first.proc.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0, "".join(first.lines[-30:])
    assert any("finishing in-flight batches" in line for line in first.lines)
    assert any(line.startswith("events ") for line in first.lines)  # final totals
    time.sleep(int(ACK_DEADLINE) + 2)  # pulls cancelled at shutdown hand their messages back after the deadline

    done = run_worker(cloud, *_args(subscription, table, cloud, "--ack-deadline", ACK_DEADLINE, "--mode", "committed"))
    assert done.returncode == 0, done.stderr[-3000:]
    missing, duplicates = _missing_and_duplicates(cloud, table, pairs)
    assert (missing, duplicates) == (0, 0)


def test_sink_unavailable_for_a_while_worker_waits_and_recovers(cloud: Cloud) -> None:
    subscription, table, pairs = _setup(cloud)
    proxy = TcpProxy(cloud.bigquery_grpc_host)
    env = {**worker_env(cloud), "BIGQUERY_STORAGE_EMULATOR_HOST": proxy.host}
    try:
        worker = Running(cloud, *_args(subscription, table, cloud, "--exit-when-drained"), env=env)
        worker.wait_for_acked(EVENTS // 10)
        proxy.cut()
        time.sleep(8)  # BigQuery unreachable: the worker retries and keeps its leases alive
        assert worker.proc.poll() is None
        acked_during_outage = worker.acked()
        proxy.restore()
        assert worker.wait(300) == 0, "".join(worker.lines[-30:])
    finally:
        proxy.close()
    assert acked_during_outage < EVENTS  # the outage really held the worker up
    final = [line for line in worker.lines if line.startswith("events ")][-1]
    assert "sink retries 0" not in final, final
    missing, duplicates = _missing_and_duplicates(cloud, table, pairs)
    print(f"outage: {missing} missing, {duplicates} duplicates; {final.strip()}")
    assert missing == 0


@pytest.mark.slow  # ~25-40 s: run by make test-slow and CI
def test_sigterm_while_bigquery_hangs_exits_within_shutdown_timeout(cloud: Cloud) -> None:
    """A sink call blocked on a hung server cannot finish: the worker still exits within ``shutdown_timeout`` of
    SIGTERM (exit 3), and what it had not acknowledged comes back."""
    subscription, table, pairs = _setup(cloud)
    proxy = TcpProxy(cloud.bigquery_grpc_host)
    env = {**worker_env(cloud), "BIGQUERY_STORAGE_EMULATOR_HOST": proxy.host}
    try:
        worker = Running(cloud, *_args(subscription, table, cloud, "--shutdown-timeout", "4"), env=env)
        worker.wait_for_acked(EVENTS // 10)
        proxy.stall()  # appends now wait for an answer that does not come (their own timeout is 60 s)
        time.sleep(1)
        worker.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code = worker.wait(30)
        took = time.monotonic() - sent
        assert code == 3, "".join(worker.lines[-30:])
        assert took < 4 + 3, f"exited {took:.1f} s after SIGTERM"
        assert any("shutdown_timeout passed" in line for line in worker.lines)
    finally:
        proxy.close()
    time.sleep(int(ACK_DEADLINE) + 2)  # the leases of what was held lapse
    done = run_worker(cloud, *_args(subscription, table, cloud, "--ack-deadline", ACK_DEADLINE))
    assert done.returncode == 0, done.stderr[-3000:]
    missing, _duplicates = _missing_and_duplicates(cloud, table, pairs)
    assert missing == 0
