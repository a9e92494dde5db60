"""An in-process source: batches of events handed over in memory, delivered through the same
:class:`~streamlake_fast._native.PullBatch` path as Pub/Sub (message ids 1, 2, ...; acks are counted, not sent).

For the demo when no Pub/Sub emulator is installed, for embedding, and for benchmarks of the sinks alone.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable

from streamlake_fast._native import PullBatch

__all__ = ["MemorySource"]


class MemorySource:
    """Deliver ``batches`` (each a list of raw events) in order; :meth:`drained` once all are handed out."""

    def __init__(
        self,
        batches: Iterable[list[bytes]],
        *,
        name: str = "memory",
        max_outstanding_messages: int = 200_000,
        max_outstanding_bytes: int = 256 << 20,
    ) -> None:
        self.name = name
        self.max_outstanding_messages = max_outstanding_messages
        self.max_outstanding_bytes = max_outstanding_bytes
        self._batches = iter(batches)
        self._queue: queue.Queue[PullBatch] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._exhausted = threading.Event()
        self._lock = threading.Condition()
        self._outstanding = [0, 0]
        self._next_id = 1
        self._thread: threading.Thread | None = None
        self.acked = 0
        self.nacked = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._feed, name="memory-source", daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        try:
            for events in self._batches:
                with self._lock:
                    while not self._stop.is_set() and (
                        self._outstanding[0] >= self.max_outstanding_messages
                        or self._outstanding[1] >= self.max_outstanding_bytes
                    ):
                        self._lock.wait(0.2)
                if self._stop.is_set():
                    return
                batch = PullBatch.from_messages(events, self._next_id, time.time_ns() // 1000)
                self._next_id += len(events)
                with self._lock:
                    self._outstanding[0] += len(batch)
                    self._outstanding[1] += batch.data_bytes
                while not self._stop.is_set():
                    try:
                        self._queue.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        finally:
            self._exhausted.set()

    def get(self, timeout: float) -> PullBatch | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, batch: PullBatch, indices: list[int] | None = None) -> None:
        self.acked += len(batch) if indices is None else len(indices)

    def nack(self, batch: PullBatch) -> None:
        self.nacked += len(batch)

    def extend(self, batch: PullBatch, seconds: int) -> None:
        pass

    def extend_all(self, seconds: int) -> None:
        pass

    def release(self, batch: PullBatch) -> None:
        with self._lock:
            self._outstanding[0] -= len(batch)
            self._outstanding[1] -= batch.data_bytes
            self._lock.notify_all()

    def drained(self) -> bool:
        return self._exhausted.is_set() and self._queue.empty()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()
