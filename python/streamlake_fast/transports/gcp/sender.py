"""Publishing serialized ``PublishRequest`` s (built in Rust) over raw gRPC: several in flight, transient failures
retried with the one retry policy, Pub/Sub's message ids counted against each request. Used by the edge
:class:`~streamlake_fast.edge.publisher.Publisher` and the dead-letter topic."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from streamlake_fast.exceptions import DecodeError, PublishError, outcomes
from streamlake_fast.extras import needs_extra
from streamlake_fast.transports.gcp.channels import is_retryable, pubsub_channel
from streamlake_fast.transports.gcp.wire import publish_response_ids
from streamlake_fast.transports.names import check_topic
from streamlake_fast.transports.retry import Retry

with needs_extra():  # the gcp extra
    import grpc

__all__ = ["PUBLISH_RETRY", "RequestSender"]

log = logging.getLogger(__name__)

#: Publish requests: a few retries of transient failures, then the call fails.
PUBLISH_RETRY = Retry(initial=0.2, maximum=10.0, attempts=10)


class RequestSender:
    """Send ``PublishRequest`` bytes for ``topic``, ``max_in_flight`` at once."""

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
        self._timeout = timeout
        self._retry = retry
        self._channel = channel or pubsub_channel()
        ident: Any = None
        self._publish = self._channel.unary_unary("/google.pubsub.v1.Publisher/Publish", ident, ident)
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="publish")

    def send_all(self, requests: list[bytes], counts: list[int]) -> int:
        """Send every request; returns the messages Pub/Sub acknowledged. Raises :class:`PublishError` (with
        ``published``) when any request failed for good."""
        results = self.send_each(requests, counts)
        errors = [r for r in results if isinstance(r, PublishError)]
        published = sum(r for r in results if isinstance(r, int))
        if errors:
            retryable = all(e.retryable for e in errors)
            message = f"{len(errors)} of {len(results)} publish requests failed: {errors[0]}"
            raise PublishError(message, published, retryable=retryable)
        return published

    def send_each(self, requests: list[bytes], counts: list[int]) -> list[int | PublishError]:
        """Send every request; for each, the messages Pub/Sub acknowledged or why it failed (a request is
        published whole or not at all)."""
        if len(requests) == 1:  # no hand-off to the pool for the common case of one request
            try:
                return [self._send(requests[0], counts[0])]
            except PublishError as e:
                return [e]
            except Exception as e:
                return [PublishError(f"unexpected {type(e).__name__}: {e}", maybe_published=True)]
        futures: list[Future[int]] = [
            self._pool.submit(self._send, r, n) for r, n in zip(requests, counts, strict=True)
        ]
        return outcomes(futures)

    def _send(self, request: bytes, count: int) -> int:
        try:
            response = self._retry.call(
                lambda: self._publish(request, timeout=self._timeout), retryable=is_retryable, what="publish"
            )
        except grpc.RpcError as e:
            message = f"publish to {self.topic} failed: {e.code().name}: {e.details()}"
            raise PublishError(message, retryable=is_retryable(e), maybe_published=_maybe_sent(e)) from e
        try:
            ids = publish_response_ids(response)
        except DecodeError as e:
            raise PublishError(f"publish to {self.topic}: unreadable response: {e}") from e
        if ids != count:
            raise PublishError(f"Pub/Sub returned {ids} message ids for {count} messages")
        return count

    def close(self) -> None:
        self._pool.shutdown(wait=True)


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
