"""How much the HTTP services take on at once: requests in flight, their body bytes, and how long a body may take
to arrive. Past a bound a request is shed at once with 503 and ``Retry-After`` (not queued: a queue in front of a
bound is the unbounded memory the bound is for); a body that trickles in past its time gets 408."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from streamlake_fast.http.asgi import HttpError, Scope, header

__all__ = ["Admission", "Limits"]


@dataclass(frozen=True)
class Limits:
    """:param max_requests: requests being read or handled at once.
    :param max_bytes: body bytes those may hold (each counted at its Content-Length, else at the body limit).
    :param body_seconds: the longest a request's body may take to arrive.
    :param retry_after: seconds a shed client is told to wait."""

    max_requests: int = 1024
    max_bytes: int = 512 << 20
    body_seconds: float = 30.0
    retry_after: int = 1


class Admission:
    """The requests in flight of one service, within :class:`Limits` (one event loop: no lock needed)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.requests = 0
        self.bytes = 0
        self.shed = 0

    @contextmanager
    def admit(self, scope: Scope, body_limit: int) -> Iterator[None]:
        """Holds a place for this request while the block runs; raises 503 when there is none."""
        length = header(scope, b"content-length")
        size = min(int(length), body_limit) if length is not None and length.isdigit() else body_limit
        limits = self.limits
        if self.requests >= limits.max_requests or (self.requests and self.bytes + size > limits.max_bytes):
            self.shed += 1
            why = (
                f"over capacity ({self.requests} requests, {self.bytes:,} body bytes in flight); send it again shortly"
            )
            raise HttpError(503, why, headers=[(b"retry-after", str(limits.retry_after).encode())])
        self.requests += 1
        self.bytes += size
        try:
            yield
        finally:
            self.requests -= 1
            self.bytes -= size
