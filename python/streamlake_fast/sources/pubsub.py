"""Pub/Sub pull without a Python object per message.

Several unary ``Pull`` calls run in flight on background threads; each response stays the serialized bytes it
arrived as (:class:`~streamlake_fast.messages.Messages`) and becomes one
:class:`~streamlake_fast.delivery.Delivery`. Acknowledgements and deadline changes are built in Rust from the ack
ids in those bytes. The source bounds what is pulled and not yet released (flow control) and keeps the leases of
every delivery it has handed out alive until it is released.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import grpc

from streamlake_fast.delivery import Delivery
from streamlake_fast.endpoints import is_retryable, pubsub_channel
from streamlake_fast.exceptions import SourceError
from streamlake_fast.messages import Messages
from streamlake_fast.names import check_subscription
from streamlake_fast.pubsub_wire import modify_deadline_requests, pull_request
from streamlake_fast.retry import Retry
from streamlake_fast.sources.flow import FlowControl
from streamlake_fast.sources.pubsub_acks import SETTLE_RETRY, AckResults, acknowledge

__all__ = ["PubSubSource"]

log = logging.getLogger(__name__)

#: Pull: retried until the source stops.
PULL_RETRY = Retry(initial=0.1, maximum=10.0)
#: A received message's lease lasts at least this long (Pub/Sub's smallest subscription ack deadline).
MIN_ACK_DEADLINE = 10.0
#: A lease is extended when it has less than this left; the lease thread checks every second.
LEASE_MARGIN = 5.0


def _messages(deliveries: Sequence[Delivery]) -> Messages:
    return Messages.concat([d.messages for d in deliveries])


class PubSubSource:
    """Pull from ``projects/P/subscriptions/S``.

    :param max_messages: messages asked for per ``Pull`` (the emulator returns at most 100).
    :param concurrent_pulls: ``Pull`` calls in flight at once.
    :param max_outstanding_messages: stop pulling while this many messages are delivered and not released.
    :param max_outstanding_bytes: the same, in bytes of the messages as received (data, attributes, ids).
    :param ack_deadline: seconds each lease extension asks for. A delivery's lease is extended when less than
        5 s of it is left (the first lease lasts at least Pub/Sub's minimum of 10 s), until it is settled.
    :param max_lease: seconds after which a delivery still not settled is handed back (nacked) instead of being
        leased forever.
    """

    def __init__(
        self,
        subscription: str,
        *,
        max_messages: int = 1000,
        concurrent_pulls: int = 2,
        max_outstanding_messages: int = 100_000,
        max_outstanding_bytes: int = 256 << 20,
        ack_deadline: int = 60,
        max_lease: float = 3600.0,
        pull_timeout: float = 5.0,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.name = check_subscription(subscription)
        self.flow_control = FlowControl(max_outstanding_messages, max_outstanding_bytes)
        self.ack_deadline = ack_deadline
        self.max_lease = max_lease
        self._channel = channel or pubsub_channel()
        ident: Any = None
        self._pull = self._channel.unary_unary("/google.pubsub.v1.Subscriber/Pull", ident, ident)
        self._ack = self._channel.unary_unary("/google.pubsub.v1.Subscriber/Acknowledge", ident, ident)
        self._modack = self._channel.unary_unary("/google.pubsub.v1.Subscriber/ModifyAckDeadline", ident, ident)
        self.ack_results = AckResults()  # acknowledgements an exactly-once subscription refused
        self._request = pull_request(subscription, max_messages)
        self._concurrent = concurrent_pulls
        self._timeout = pull_timeout
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._modack_lock = threading.Lock()  # orders nacks and lease extensions
        self._threads: list[threading.Thread] = []
        self._empty_pulls = 0
        self._failure: SourceError | None = None
        # Handed out and not yet settled: their leases are kept alive (each with its monotonic expiry and receipt).
        self._held: dict[int, tuple[Delivery, float, float]] = {}

    def start(self) -> None:
        for i in range(self._concurrent):
            t = threading.Thread(target=self._puller, name=f"pubsub-pull-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        threading.Thread(target=self._extend_leases, name="pubsub-lease", daemon=True).start()

    def _puller(self) -> None:
        try:
            while self.flow_control.wait_for_room(self._stop):
                raw = self._pull_once()
                if raw is None:
                    self._empty_pulls += 1
                else:
                    self._deliver(raw)
        except Exception as e:  # not retryable: the worker must stop, not idle
            failure = e if isinstance(e, SourceError) else SourceError(f"pulling from {self.name} failed: {e}")
            self._failure = failure
            self._stop.set()

    def _pull_once(self) -> bytes | None:
        def pull() -> bytes | None:
            try:
                # A blocking call: gRPC futures on a sync channel add a polling thread that costs CPU per call.
                response: bytes = self._pull(self._request, timeout=self._timeout)
                return response
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return None  # nothing arrived within the pull timeout
                raise

        try:
            return PULL_RETRY.call(pull, retryable=is_retryable, what=f"pull {self.name}", abort=self._stop)
        except grpc.RpcError as e:
            if self._stop.is_set():
                return None
            raise SourceError(f"pull from {self.name} failed: {e.code().name}: {e.details()}") from e

    def _deliver(self, raw: bytes) -> None:
        messages = Messages.from_pubsub([raw])
        if len(messages) == 0:
            self._empty_pulls += 1
            return
        self._empty_pulls = 0
        delivery = Delivery(messages, self)
        self.flow_control.acquire(len(messages), messages.size_bytes)
        now = time.monotonic()
        with self._lock:
            self._held[id(delivery)] = (delivery, now + MIN_ACK_DEADLINE, now)
        self._queue.put(delivery)

    def get(self, timeout: float) -> Delivery | None:
        """The next pulled response, or ``None`` after ``timeout`` seconds; raises :class:`SourceError` once
        pulling has failed for good (after what was received before is handed out)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            if self._failure is not None:
                raise self._failure from None
            return None

    # -- settling (called through the deliveries)

    def _send(self, rpc: Any, requests: list[bytes], what: str) -> None:
        for req in requests:
            SETTLE_RETRY.call(partial(rpc, req, timeout=30), retryable=is_retryable, what=what)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._forget(deliveries)
        acknowledge(self._ack, _messages(deliveries), self.name, self.ack_results)

    def nack(self, deliveries: Sequence[Delivery]) -> None:
        with self._modack_lock:  # no lease extension can be sent after this and undo it
            self._forget(deliveries)
            self._send(self._modack, modify_deadline_requests(_messages(deliveries), self.name, 0), "nack")

    def extend(self, deliveries: Sequence[Delivery], seconds: float) -> None:
        with self._modack_lock:
            with self._lock:  # only what is still held: a delivery nacked meanwhile stays nacked
                held = [d for d in deliveries if id(d) in self._held]
            if not held:
                return
            until = time.monotonic() + seconds
            requests = modify_deadline_requests(_messages(held), self.name, int(seconds))
            self._send(self._modack, requests, "modify ack deadline")
            with self._lock:
                for d in held:
                    if (entry := self._held.get(id(d))) is not None:
                        self._held[id(d)] = (d, until, entry[2])

    def release(self, delivery: Delivery) -> None:
        self._forget([delivery])
        self.flow_control.release(len(delivery), delivery.messages.size_bytes)

    def _forget(self, deliveries: Sequence[Delivery]) -> None:
        with self._lock:
            for d in deliveries:
                self._held.pop(id(d), None)

    def _extend_leases(self) -> None:
        """Extend the lease of each delivery handed out and not yet settled shortly before it lapses."""
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            with self._lock:
                pulling = any(t.is_alive() for t in self._threads)
                if not self._held and self._stop.is_set() and not pulling:
                    return  # stopped, nothing more can arrive, and everything handed out is settled
                due = [d for d, until, _ in self._held.values() if until - now < LEASE_MARGIN]
                overdue = [d for d, _, received in self._held.values() if now - received > self.max_lease]
            if overdue:  # held past max_lease and still not durable: hand back rather than hold forever
                log.warning("%d messages held for %.0f s without becoming durable; handing them back",
                            sum(len(d) for d in overdue), self.max_lease)  # fmt: skip
                due = [d for d in due if d not in overdue]
                try:
                    self.nack(overdue)
                except Exception as e:
                    log.warning("could not hand back overdue messages (their leases lapse anyway): %s", e)
            if not due:
                continue
            try:
                self.extend(due, self.ack_deadline)
            except Exception as e:  # a lapsed lease only means a redelivery, never a loss
                log.warning("could not extend ack deadlines: %s", e)

    def drained(self) -> bool:
        """True when the last pulls came back empty and nothing is queued."""
        return self._empty_pulls >= self._concurrent and self._queue.empty()

    def stop(self) -> None:
        """Stop pulling; responses already received stay queued for :meth:`get` (and leased until released)."""
        self._stop.set()
        self.flow_control.wake()
        for t in self._threads:
            t.join()
