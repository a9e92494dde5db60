"""Run a built worker in a thread until it has acknowledged ``events``; its CPU and wall time (this process's)."""

from __future__ import annotations

import threading
import time

from streamlake_fast.worker import Worker


def run_until_acked(worker: Worker, events: int, messages: int | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) from start until every one of ``events`` (in ``messages``, when they came in
    envelopes) is acknowledged: the worker is stopped once all are written (stopping flushes the lake's open
    files), then waited for."""
    thread = threading.Thread(target=worker.run)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    thread.start()
    while worker.stats.events < events:
        assert thread.is_alive(), "worker stopped early"
        time.sleep(0.05)
    worker.stop()
    while worker.stats.acked < (events if messages is None else messages):
        assert thread.is_alive(), "worker stopped before acknowledging everything"
        time.sleep(0.01)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    thread.join(60)
    return cpu, wall
