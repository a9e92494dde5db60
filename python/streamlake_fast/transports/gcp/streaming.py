"""Pub/Sub ``StreamingPull``: the server pushes messages down long-lived streams instead of answering a ``Pull``
per batch — what Google's own client receives with. Each response stays the bytes it arrived as (a
``StreamingPullResponse`` reads as a ``PullResponse``: its messages are field 1 in both) and becomes one
:class:`~streamlake_fast.sources.delivery.Delivery`; acknowledgements, deadline changes, leases and flow control
are :class:`~streamlake_fast.transports.gcp.pull.PubSubSource`'s, unchanged (unary calls, built in Rust).

Each stream has a thread that reads it into a queue and opens it again when it ends or fails with a retryable
status (the service closes streams from time to time); the stream asks the service itself to hold back past
``max_outstanding_messages`` / ``max_outstanding_bytes`` unacknowledged, the same limits the source keeps.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from streamlake_fast.codec.messages import Messages
from streamlake_fast.exceptions import SourceError
from streamlake_fast.extras import needs_extra
from streamlake_fast.transports.gcp.channels import is_retryable
from streamlake_fast.transports.gcp.pull import _DEFAULTS, PULL_RETRY, PubSubSource

with needs_extra():  # the gcp extra
    import grpc
    from google.pubsub_v1 import StreamingPullRequest

__all__ = ["StreamingPubSubSource"]

log = logging.getLogger(__name__)

#: Seconds between the empty requests that keep an idle stream open (Google's client sends one every 30 s).
HEARTBEAT = 30.0


class StreamingPubSubSource(PubSubSource):
    """Receive from ``projects/P/subscriptions/S`` over ``streams`` ``StreamingPull`` streams; the flow-control
    and lease parameters are :class:`PubSubSource`'s (there is no ``max_messages`` or ``concurrent_pulls``: the
    service sends what the streams' flow control allows). ``pull_timeout``: seconds without a response after which
    the source counts a receive as empty (what ``--exit-when-drained`` waits for)."""

    def __init__(
        self,
        subscription: str,
        *,
        streams: int = 1,
        max_outstanding_messages: int = _DEFAULTS.max_outstanding_messages,
        max_outstanding_bytes: int = _DEFAULTS.max_outstanding_bytes,
        ack_deadline: int = _DEFAULTS.ack_deadline,
        max_lease: float = _DEFAULTS.max_lease,
        pull_timeout: float = 5.0,
        channel: grpc.Channel | None = None,
    ) -> None:
        super().__init__(subscription, concurrent_pulls=1, max_outstanding_messages=max_outstanding_messages,
                         max_outstanding_bytes=max_outstanding_bytes, ack_deadline=ack_deadline,
                         max_lease=max_lease, pull_timeout=pull_timeout, channel=channel)  # fmt: skip
        if streams < 1:
            raise ValueError(f"streams must be at least 1, got {streams}")
        self.streams = streams
        self._open = self._channel.stream_stream("/google.pubsub.v1.Subscriber/StreamingPull", None, None)
        self._first = StreamingPullRequest.serialize(StreamingPullRequest(
            subscription=self.name, stream_ack_deadline_seconds=max(10, min(self.ack_deadline, 600)),
            max_outstanding_messages=self.flow_control.max_messages,
            max_outstanding_bytes=self.flow_control.max_bytes,
        ))  # fmt: skip
        self._responses: queue.Queue[bytes] = queue.Queue()
        self._calls: list[Any] = []
        self._calls_lock = threading.Lock()
        self._stream_failure: SourceError | None = None
        self._readers: list[threading.Thread] = []
        self.streams_opened = 0

    def start(self) -> None:
        for i in range(self.streams):
            t = threading.Thread(target=self._read_stream, name=f"pubsub-stream-{i}", daemon=True)
            t.start()
            self._readers.append(t)
        super().start()

    def _requests(self) -> Iterator[bytes]:
        yield self._first
        while not self._stop.wait(HEARTBEAT):
            yield b""  # an empty StreamingPullRequest: a heartbeat

    def _read_stream(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            call = self._open(self._requests())
            with self._calls_lock:
                self._calls.append(call)
            self.streams_opened += 1
            try:
                for raw in call:
                    attempt = 0
                    self._responses.put(raw)
                failure: grpc.RpcError | None = None
            except grpc.RpcError as e:
                failure = e
            finally:
                with self._calls_lock:
                    self._calls.remove(call)
            if self._stop.is_set():
                return
            if failure is not None and not is_retryable(failure):
                self._stream_failure = SourceError(f"streaming pull from {self.name} failed: "
                                                   f"{failure.code().name}: {failure.details()}")  # fmt: skip
                return
            log.info("%s: stream ended (%s); opening another", self.name,
                     failure.code().name if failure is not None else "closed by the service")  # fmt: skip
            self._stop.wait(PULL_RETRY.delay(attempt))
            attempt += 1

    def _receive_once(self) -> Messages | None:
        try:
            raw = self._responses.get(timeout=self._timeout)
        except queue.Empty:
            if self._stream_failure is not None:
                raise self._stream_failure from None
            return None
        return Messages.from_pubsub([raw])

    def stop(self) -> None:
        self._stop.set()
        with self._calls_lock:
            for call in self._calls:
                call.cancel()
        for t in self._readers:
            t.join()
        super().stop()
