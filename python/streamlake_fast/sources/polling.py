"""What every pull-based source shares: receiver threads under flow control, a queue of deliveries, and the
leases of what is handed out.

A subclass says how to receive once, acknowledge and change a lease (Pub/Sub: Pull, Acknowledge,
ModifyAckDeadline; SQS: ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch). Everything else is
here, once: each delivery handed out and not yet settled has its lease extended when less than a third of it (at
least ``LEASE_MARGIN``, at most half) is left — by ``lease_seconds``, or by about as long as it has been held so
far (up to ``MAX_EXTENSION``), so a delivery held for minutes behind a store outage costs few calls; one held for
``max_lease`` without being settled is handed back; a nack is never undone by a lease extension racing it; a
receive that fails for good stops the source with :class:`~streamlake_fast.exceptions.SourceError`.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence

from streamlake_fast.codec.messages import Messages
from streamlake_fast.exceptions import SourceError
from streamlake_fast.sources.delivery import Delivery
from streamlake_fast.sources.flow import FlowControl

__all__ = ["LEASE_MARGIN", "MAX_EXTENSION", "PollingSource", "extension", "margin"]

log = logging.getLogger(__name__)

#: A lease is extended when it has less than a third of its length, and at least this, left.
LEASE_MARGIN = 5.0
#: Seconds between the lease thread's checks.
CHECK_INTERVAL = 0.5
#: Deliveries acknowledged at a time (SQS: ~64 DeleteMessageBatch calls; Pub/Sub: one or a few Acknowledge calls).
ACK_CHUNK = 64
#: The longest single extension (Pub/Sub's ModifyAckDeadline allows 600 s): what a killed worker held comes back
#: at the latest this long after the kill.
MAX_EXTENSION = 600.0


class PollingSource:
    """The shared part of a source that receives on ``concurrent`` threads.

    :param first_lease: seconds a message's lease lasts when it is received (before the first extension).
    :param lease_seconds: seconds each extension asks for at least.
    :param max_lease: seconds after which a delivery still not settled is handed back instead of being leased
        forever.
    """

    def __init__(
        self,
        name: str,
        *,
        concurrent: int,
        max_outstanding_messages: int,
        max_outstanding_bytes: int,
        first_lease: float,
        lease_seconds: int,
        max_lease: float,
    ) -> None:
        self.name = name
        self.flow_control = FlowControl(max_outstanding_messages, max_outstanding_bytes)
        self.first_lease = first_lease
        self.lease_seconds = lease_seconds
        self.max_lease = max_lease
        self._concurrent = concurrent
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._lease_lock = threading.Lock()  # orders nacks and lease extensions
        self._threads: list[threading.Thread] = []
        self._empty_receives = 0
        self.deliveries = 0  # batches received so far
        self._failure: SourceError | None = None
        # Handed out and not yet settled, their leases kept alive: each with its lease's monotonic expiry, the
        # monotonic time it was received, and its lease's length.
        self._held: dict[int, tuple[Delivery, float, float, float]] = {}

    # -- what a subclass provides

    def _receive_once(self) -> Messages | None:
        """One receive call (retried while transient); None when nothing arrived. Raises SourceError for good."""
        raise NotImplementedError

    def _acknowledge(self, messages: Messages) -> None:
        raise NotImplementedError

    def _change_lease(self, messages: Messages, seconds: int) -> None:
        """Set the messages' lease to ``seconds`` from now (0: hand them back for redelivery now)."""
        raise NotImplementedError

    # -- receiving

    def start(self) -> None:
        kind = type(self).__name__.removesuffix("Source").lower()
        for i in range(self._concurrent):
            t = threading.Thread(target=self._receiver, name=f"{kind}-receive-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        threading.Thread(target=self._keep_leases, name=f"{kind}-lease", daemon=True).start()

    def _receiver(self) -> None:
        try:
            while self.flow_control.wait_for_room(self._stop):
                messages = self._receive_once()
                if messages is None or len(messages) == 0:
                    self._empty_receives += 1
                else:
                    self._deliver(messages)
        except Exception as e:  # not retryable: the worker must stop, not idle
            failure = e if isinstance(e, SourceError) else SourceError(f"receiving from {self.name} failed: {e}")
            self._failure = failure
            self._stop.set()

    def _deliver(self, messages: Messages) -> None:
        self._empty_receives = 0
        self.deliveries += 1
        delivery = Delivery(messages, self)
        self.flow_control.acquire(len(messages), messages.size_bytes)
        now = time.monotonic()
        with self._lock:
            self._held[id(delivery)] = (delivery, now + self.first_lease, now, self.first_lease)
        self._queue.put(delivery)

    def get(self, timeout: float) -> Delivery | None:
        """The next received batch, or ``None`` after ``timeout`` seconds; raises :class:`SourceError` once
        receiving has failed for good (after what was received before is handed out)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            if self._failure is not None:
                raise self._failure from None
            return None

    def drained(self) -> bool:
        """True when the last receives came back empty and nothing is queued."""
        return self._empty_receives >= self._concurrent and self._queue.empty()

    def stop(self) -> None:
        """Stop receiving; batches already received stay queued for :meth:`get` (and leased until released)."""
        self._stop.set()
        self.flow_control.wake()
        for t in self._threads:
            t.join()

    # -- settling (called through the deliveries)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge ``ACK_CHUNK`` deliveries at a time, each keeping its lease until its own acknowledgement is
        about to be sent: a large file's (SQS deletes ten messages a call) takes seconds, and leases dropped at the
        start lapsed before the last deletes went out — delivered again with no fault at all. A chunk is let go
        under the lease lock, so no extension in flight can reach a message after its delete (SQS refuses that)."""
        try:
            for i in range(0, len(deliveries), ACK_CHUNK):
                chunk = deliveries[i : i + ACK_CHUNK]
                with self._lease_lock:
                    self._forget(chunk)
                self._acknowledge(_messages(chunk))
        finally:
            self._forget(deliveries)

    def nack(self, deliveries: Sequence[Delivery]) -> None:
        with self._lease_lock:  # no lease extension can be sent after this and undo it
            self._forget(deliveries)
            self._change_lease(_messages(deliveries), 0)

    def extend(self, deliveries: Sequence[Delivery], seconds: float) -> None:
        with self._lease_lock:
            with self._lock:  # only what is still held: a delivery nacked meanwhile stays nacked
                held = [d for d in deliveries if id(d) in self._held]
            if not held:
                return
            until = time.monotonic() + seconds
            self._change_lease(_messages(held), int(seconds))
            with self._lock:
                for d in held:
                    if (entry := self._held.get(id(d))) is not None:
                        self._held[id(d)] = (d, until, entry[2], seconds)

    def release(self, deliveries: Sequence[Delivery]) -> None:
        self._forget(deliveries)
        self.flow_control.release(sum(len(d) for d in deliveries), sum(d.size_bytes for d in deliveries))

    def _forget(self, deliveries: Sequence[Delivery]) -> None:
        with self._lock:
            for d in deliveries:
                self._held.pop(id(d), None)

    def _keep_leases(self) -> None:
        """Extend the lease of each delivery handed out and not yet settled shortly before it lapses."""
        while True:
            time.sleep(CHECK_INTERVAL)
            now = time.monotonic()
            with self._lock:
                receiving = any(t.is_alive() for t in self._threads)
                if not self._held and self._stop.is_set() and not receiving:
                    return  # stopped, nothing more can arrive, and everything handed out is settled
                due = [(d, received) for d, until, received, length in self._held.values()
                       if until - now < margin(length)]  # fmt: skip
                overdue = [d for d, _, received, _ in self._held.values() if now - received > self.max_lease]
            if overdue:  # held past max_lease and still not durable: hand back rather than hold forever
                log.warning("%d messages held for %.0f s without becoming durable; handing them back",
                            sum(len(d) for d in overdue), self.max_lease)  # fmt: skip
                due = [(d, received) for d, received in due if d not in overdue]
                try:
                    self.nack(overdue)
                except Exception as e:
                    log.warning("could not hand back overdue messages (their leases lapse anyway): %s", e)
            if not due:
                continue
            groups: dict[float, list[Delivery]] = {}  # one call per extension length
            for d, received in due:
                groups.setdefault(extension(self.lease_seconds, now - received), []).append(d)
            for seconds, group in sorted(groups.items()):
                try:
                    self.extend(group, seconds)
                except Exception as e:  # a lapsed lease only means a redelivery, never a loss
                    log.warning("could not extend leases: %s", e)


def margin(length: float) -> float:
    """How much of a lease of ``length`` seconds is left when it is extended: a third, at least ``LEASE_MARGIN``,
    at most half (a 4 s lease is extended at 2 s left, not every second)."""
    return min(max(LEASE_MARGIN, length / 3), length / 2)


def extension(lease_seconds: float, held_for: float) -> float:
    """Seconds to extend a lease held for ``held_for`` seconds: ``lease_seconds``, or about as long as it has been
    held (what has waited long will likely wait as long again) — the largest power of two not above it, so that
    deliveries received around the same time share one call — at most ``MAX_EXTENSION``."""
    held = 2.0 ** math.floor(math.log2(held_for)) if held_for >= 1 else 0.0
    return min(MAX_EXTENSION, max(float(lease_seconds), held))


def _messages(deliveries: Sequence[Delivery]) -> Messages:
    return Messages.concat([d.messages for d in deliveries])
