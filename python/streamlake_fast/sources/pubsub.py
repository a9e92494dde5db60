"""Pub/Sub pull without a Python object per message.

Several unary ``Pull`` calls run in flight on background threads; each response stays the serialized bytes it
arrived as and is parsed, decoded and acknowledged in Rust (:class:`~streamlake_fast._native.PullBatch`). Flow
control bounds the messages and bytes pulled but not yet acknowledged.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import grpc

from streamlake_fast._native import PullBatch
from streamlake_fast.endpoints import RETRYABLE_CODES, pubsub_channel

__all__ = ["PubSubSource"]

log = logging.getLogger(__name__)


def _pull_request(subscription: str, max_messages: int) -> bytes:
    # PullRequest: subscription = 1 (string), max_messages = 3 (int32).
    sub = subscription.encode()
    return b"\x0a" + _varint(len(sub)) + sub + b"\x18" + _varint(max_messages)


def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class PubSubSource:
    """Pull from ``projects/P/subscriptions/S``.

    :param max_messages: messages asked for per ``Pull`` (the emulator returns at most 100).
    :param concurrent_pulls: ``Pull`` calls in flight at once.
    :param max_outstanding_messages: stop pulling while this many messages await acknowledgement.
    :param max_outstanding_bytes: the same, in bytes of message data.
    """

    def __init__(
        self,
        subscription: str,
        *,
        max_messages: int = 1000,
        concurrent_pulls: int = 2,
        max_outstanding_messages: int = 100_000,
        max_outstanding_bytes: int = 256 << 20,
        pull_timeout: float = 5.0,
        channel: grpc.Channel | None = None,
    ) -> None:
        if not subscription.startswith("projects/") or "/subscriptions/" not in subscription:
            raise ValueError(f"subscription must look like projects/P/subscriptions/S, got {subscription!r}")
        self.name = subscription
        self._channel = channel or pubsub_channel()
        ident: Any = None
        self._pull = self._channel.unary_unary("/google.pubsub.v1.Subscriber/Pull", ident, ident)
        self._ack = self._channel.unary_unary("/google.pubsub.v1.Subscriber/Acknowledge", ident, ident)
        self._modack = self._channel.unary_unary("/google.pubsub.v1.Subscriber/ModifyAckDeadline", ident, ident)
        self._request = _pull_request(subscription, max_messages)
        self._concurrent = concurrent_pulls
        self.max_outstanding_messages = max_outstanding_messages
        self.max_outstanding_bytes = max_outstanding_bytes
        self._timeout = pull_timeout
        self._queue: queue.Queue[PullBatch] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._outstanding = [0, 0]  # messages, bytes
        self._threads: list[threading.Thread] = []
        self._empty_pulls = 0
        self.pull_cpu = 0.0  # CPU seconds of the pulling threads, added up when they stop
        self._held: dict[int, PullBatch] = {}  # pulled, not yet released: their leases are kept alive

    def start(self) -> None:
        for i in range(self._concurrent):
            t = threading.Thread(target=self._puller, name=f"pubsub-pull-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _puller(self) -> None:
        try:
            self._pull_loop()
        finally:
            with self._lock:
                self.pull_cpu += time.thread_time()

    def _pull_loop(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            with self._lock:
                while not self._stop.is_set() and self._full():
                    self._lock.wait(0.5)
            if self._stop.is_set():
                return
            try:
                # A blocking call: gRPC futures on a sync channel add a polling thread that costs CPU per call.
                raw = self._pull(self._request, timeout=self._timeout)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    self._empty_pulls += 1  # nothing arrived within the pull timeout
                    continue
                if e.code() in RETRYABLE_CODES:
                    log.warning("pull failed (%s), retrying in %.1fs", e.code().name, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                log.error("pull failed permanently: %s", e)
                raise
            backoff = 0.1
            batch = PullBatch([raw])
            if len(batch) == 0:
                self._empty_pulls += 1
                continue
            self._empty_pulls = 0
            with self._lock:
                self._outstanding[0] += len(batch)
                self._outstanding[1] += batch.data_bytes
                self._held[id(batch)] = batch
            self._queue.put(batch)

    def _full(self) -> bool:
        return (
            self._outstanding[0] >= self.max_outstanding_messages or self._outstanding[1] >= self.max_outstanding_bytes
        )

    def get(self, timeout: float) -> PullBatch | None:
        """The next pulled response, or ``None`` after ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _call(self, rpc: Any, requests: list[bytes], what: str) -> None:
        for req in requests:
            delay = 0.1
            for attempt in range(8):
                try:
                    rpc(req, timeout=30)
                    break
                except grpc.RpcError as e:
                    if e.code() not in RETRYABLE_CODES or attempt == 7:
                        raise
                    log.warning("%s failed (%s), retrying", what, e.code().name)
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)

    def ack(self, batch: PullBatch, indices: list[int] | None = None) -> None:
        """Acknowledge the batch's messages (all by default)."""
        self._call(self._ack, batch.acknowledge_requests(self.name, indices), "acknowledge")

    def nack(self, batch: PullBatch) -> None:
        """Hand the batch back for immediate redelivery."""
        self._call(self._modack, batch.modify_ack_deadline_requests(self.name, 0), "nack")

    def extend(self, batch: PullBatch, seconds: int) -> None:
        """Extend the ack deadline of a batch still being written."""
        self._call(self._modack, batch.modify_ack_deadline_requests(self.name, seconds), "modify ack deadline")

    def extend_all(self, seconds: int) -> None:
        """Extend the ack deadline of every message pulled and not yet released (queued or being written)."""
        with self._lock:
            held = list(self._held.values())
        if held:
            self.extend(PullBatch.concat(held), seconds)

    def release(self, batch: PullBatch) -> None:
        """Forget a pulled batch (after ack or nack): flow control and lease extension stop counting it."""
        with self._lock:
            if self._held.pop(id(batch), None) is not None:
                self._outstanding[0] -= len(batch)
                self._outstanding[1] -= batch.data_bytes
            self._lock.notify_all()

    def drained(self) -> bool:
        """True when the last pulls came back empty and nothing is queued."""
        return self._empty_pulls >= self._concurrent and self._queue.empty()

    def stop(self) -> None:
        """Stop pulling; responses already received stay queued for :meth:`get`."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        for t in self._threads:
            t.join()
