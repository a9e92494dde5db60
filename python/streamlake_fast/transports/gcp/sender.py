"""Publishing serialized ``PublishRequest`` s (built in Rust) over raw gRPC: several in flight, transient failures
retried until the caller's abort, Pub/Sub's message ids counted against each request. Pub/Sub's
:class:`~streamlake_fast.transports.sending.Sender`: used by the edge
:class:`~streamlake_fast.edge.publisher.Publisher`, the dead-letter topic and the replay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from streamlake_fast.exceptions import DecodeError, PublishError, outcomes
from streamlake_fast.extras import needs_extra
from streamlake_fast.transports.gcp.channels import is_retryable, pubsub_channel
from streamlake_fast.transports.gcp.wire import publish_response_ids
from streamlake_fast.transports.names import check_topic
from streamlake_fast.transports.retry import Retry
from streamlake_fast.transports.sending import Outcome, Sent

with needs_extra():  # the gcp extra
    import grpc

__all__ = ["PUBLISH_RETRY", "RequestSender"]

log = logging.getLogger(__name__)

#: Publish requests: a few retries of transient failures, then the call fails.
PUBLISH_RETRY = Retry(initial=0.2, maximum=10.0, attempts=10)


class RequestSender:
    """Send ``PublishRequest`` bytes for ``topic``, ``max_in_flight`` at once (a :class:`Sender`)."""

    def __init__(
        self,
        topic: str,
        *,
        max_in_flight: int = 4,
        timeout: float = 60.0,
        channel: grpc.Channel | None = None,
        retry: Retry = PUBLISH_RETRY,
    ) -> None:
        self.topic = check_topic(topic)
        self.name = f"pubsub:{topic}"
        self._timeout = timeout
        self._retry = retry
        self._channel = channel or pubsub_channel()
        ident: Any = None
        self._publish = self._channel.unary_unary("/google.pubsub.v1.Publisher/Publish", ident, ident)
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="publish")

    def send_each(
        self, requests: Sequence[bytes], counts: Sequence[int], *, abort: threading.Event | None = None
    ) -> list[Outcome]:
        """Send every request; for each, the messages Pub/Sub acknowledged (a request is published whole or not at
        all: nothing is refused entry by entry) or why it failed."""
        if len(requests) == 1:  # no hand-off to the pool for the common case of one request
            return outcomes([_done(self._send, requests[0], counts[0], abort)])
        futures = [self._pool.submit(self._send, r, n, abort) for r, n in zip(requests, counts, strict=True)]
        return outcomes(futures)

    def _send(self, request: bytes, count: int, abort: threading.Event | None) -> Sent:
        try:
            publish = partial(self._publish, request, timeout=self._timeout)
            response = self._retry.call(publish, retryable=is_retryable, what=f"publish to {self.topic}", abort=abort)
        except grpc.RpcError as e:
            message = f"publish to {self.topic} failed: {e.code().name}: {e.details()}"
            raise PublishError(message, retryable=is_retryable(e), maybe_published=_maybe_sent(e)) from e
        try:
            ids = publish_response_ids(response)
        except DecodeError as e:
            raise PublishError(f"publish to {self.topic}: unreadable response: {e}") from e
        if ids != count:
            raise PublishError(f"Pub/Sub returned {ids} message ids for {count} messages")
        return Sent(count)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _done(send: Callable[[bytes, int, threading.Event | None], Sent], request: bytes, count: int,
          abort: threading.Event | None) -> Future[Sent]:  # fmt: skip
    """``send`` run here, as a finished future (for :func:`outcomes`)."""
    future: Future[Sent] = Future()
    try:
        future.set_result(send(request, count, abort))
    except Exception as e:
        future.set_exception(e)
    return future


def _maybe_sent(e: grpc.RpcError) -> bool:
    """Whether Pub/Sub may have published a call that failed with ``e``: it timed out, was cancelled or broke
    after the request went out. A refusal (NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, ...) or a connection
    that never opened published nothing."""
    code = e.code()
    if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN):
        return True
    details = (e.details() or "").lower()
    return code == grpc.StatusCode.UNAVAILABLE and "failed to connect" not in details and "connection refused" \
        not in details  # fmt: skip
