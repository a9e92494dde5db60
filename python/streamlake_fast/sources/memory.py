"""An in-process source: batches of raw events handed over in memory, delivered as the same
:class:`~streamlake_fast.sources.delivery.Delivery` s as Pub/Sub's (message ids 1, 2, ...; acks are counted, not sent).

For the demo when no Pub/Sub emulator is installed, for embedding, and for benchmarks of the sinks alone.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Sequence

from streamlake_fast.codec.messages import Messages
from streamlake_fast.sources.delivery import Delivery
from streamlake_fast.sources.flow import FlowControl

__all__ = ["MemorySource"]


class MemorySource:
    """Deliver ``batches`` (each a list of raw events, or :class:`Messages` with their attributes and ids) in order;
    :meth:`drained` once all are handed out."""

    def __init__(
        self,
        batches: Iterable[list[bytes] | Messages],
        *,
        name: str = "memory",
        max_outstanding_messages: int = 200_000,
        max_outstanding_bytes: int = 256 << 20,
    ) -> None:
        self.name = name
        self.flow_control = FlowControl(max_outstanding_messages, max_outstanding_bytes)
        self._batches = iter(batches)
        self._queue: queue.Queue[Delivery] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._exhausted = threading.Event()
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
                if not self.flow_control.wait_for_room(self._stop):
                    return
                messages = (
                    events if isinstance(events, Messages) else Messages.from_data(events, first_id=self._next_id)
                )
                delivery = Delivery(messages, self)
                self._next_id += len(delivery)
                self.flow_control.acquire(len(delivery), delivery.size_bytes)
                while not self._stop.is_set():
                    try:
                        self._queue.put(delivery, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                else:
                    delivery.release()  # stopped before anyone took it
                    return
        finally:
            self._exhausted.set()

    def get(self, timeout: float) -> Delivery | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    # -- settling (called through the deliveries)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.acked += sum(len(d) for d in deliveries)

    def nack(self, deliveries: Sequence[Delivery]) -> None:
        self.nacked += sum(len(d) for d in deliveries)

    def extend(self, deliveries: Sequence[Delivery], seconds: float) -> None:
        """Nothing to extend: in-process messages are never redelivered."""

    def release(self, deliveries: Sequence[Delivery]) -> None:
        self.flow_control.release(sum(len(d) for d in deliveries), sum(d.size_bytes for d in deliveries))

    def drained(self) -> bool:
        return self._exhausted.is_set() and self._queue.empty()

    def stop(self) -> None:
        self._stop.set()
        self.flow_control.wake()
        if self._thread is not None:
            self._thread.join()
