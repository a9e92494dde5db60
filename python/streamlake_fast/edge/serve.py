"""``streamlake serve``: the edge processor as an HTTP service.

``POST /v1/events`` takes one JSON event, a JSON array of events (``application/json``) or NDJSON
(``application/x-ndjson``), optionally gzip- or zstd-encoded; validates and enriches them with the codec
(``event_id``, ``ingest_time``; a ``--transform`` renames, drops, defaults, hashes or redacts fields in the same
native call) and answers only after Pub/Sub (or SQS) acknowledged the publish:
``{"accepted": n, "rejected": [{"index", "code", "path", "message"}]}``. Requests arriving together share one
native call and one ``Publish``; each request's events go in one ``Publish`` call, so a request is published
whole or not at all (a 503 means nothing of it was published: send it again). On SQS a request of up to ten
events goes in one ``SendMessageBatch``; a longer one takes several, and its 503 says how many were queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from urllib.parse import parse_qs

from streamlake_fast.edge.publisher import BodyResult, Publisher
from streamlake_fast.http.admission import Admission, Limits
from streamlake_fast.http.asgi import HttpError, Receive, Scope, Send, decompress, header, read_body, respond_json
from streamlake_fast.http.auth import Authenticator
from streamlake_fast.http.microbatch import LoopBatcher
from streamlake_fast.transports.gcp.wire import JSON_BODY, NDJSON_BODY

__all__ = ["ProcessorApp"]

log = logging.getLogger(__name__)

_KINDS = {b"application/json": JSON_BODY, b"application/x-ndjson": NDJSON_BODY, b"application/ndjson": NDJSON_BODY}
#: Seconds a client should wait before sending a request again after a 503.
RETRY_AFTER = 5

Body = tuple[bytes, int, bool]


class ProcessorApp:
    """The ASGI app of ``streamlake serve``.

    :param max_body_bytes: the most bytes of a body, before and after decompression (413 beyond).
    :param max_events: the most events in one body (413 beyond; Pub/Sub takes 1,000 messages per ``Publish``).
    :param workers: batches being published at once; one (the default) makes the fewest, largest ``Publish``
        calls: every request that arrives while one is in flight goes in the next.
    :param linger: under load, seconds to wait after a publish before the next (larger batches, fewer calls: each
        ``Publish`` call costs this client ~0.6 ms of CPU whatever its size); an idle server publishes at once.
    :param limits: requests and body bytes in flight, and the time a body may take (503 / 408 beyond).
    """

    def __init__(
        self,
        publisher: Publisher,
        *,
        auth: Authenticator | None = None,
        max_body_bytes: int = 8_000_000,
        max_events: int = 1000,
        workers: int = 1,
        linger: float = 0.002,
        limits: Limits | None = None,
    ) -> None:
        self.publisher = publisher
        self.auth = auth
        self.admission = Admission(limits)
        self.max_body_bytes = max_body_bytes
        self.max_events = max_events
        self._batcher: LoopBatcher[Body, BodyResult] = LoopBatcher(
            self._publish, max_items=1000, max_weight=4 * max_body_bytes, weight=lambda b: len(b[0]),
            workers=workers, linger=linger, name="publish",
        )  # fmt: skip
        self._failing_since: float | None = None
        self._failed_at = 0.0
        self.counts = {"requests": 0, "accepted": 0, "rejected": 0, "unavailable": 0}

    def _publish(self, bodies: Sequence[Body]) -> list[BodyResult]:
        results = self.publisher.publish_bodies(bodies, max_events=self.max_events)
        if any(r.failure for r in results):
            self._failing_since = self._failing_since or time.monotonic()
            self._failed_at = time.monotonic()
            log.warning("publish failed: %s", next(r.failure for r in results if r.failure))
        elif any(r.accepted for r in results):
            self._failing_since = None
        return results

    @property
    def ready(self) -> bool:
        """Not ready while publishing fails: from a failed publish until one succeeds, or until ``RETRY_AFTER``
        seconds pass without another failure — a service taken out of rotation gets no publish to succeed, so it
        comes back to try again instead of staying out for good."""
        if self._failing_since is None:
            return True
        return time.monotonic() - self._failed_at >= RETRY_AFTER

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body, headers = await self._route(scope, receive)
        except HttpError as e:
            status, body, headers = e.status, e.body, e.headers
        await respond_json(send, status, body, headers)

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, object, list[tuple[bytes, bytes]]]:
        path, method = scope["path"], scope["method"]
        if path in ("/healthz", "/readyz"):
            if method != "GET":
                raise HttpError(405, "GET only", headers=[(b"allow", b"GET")])
            if path == "/healthz":
                return 200, {"status": "ok"}, []
            batches = {"batches": self._batcher.batches, "batched_requests": self._batcher.items}
            return (200 if self.ready else 503), {"ready": self.ready, **self.counts, **batches}, []
        if path != "/v1/events":
            raise HttpError(404, f"no such path {path!r}; POST events to /v1/events")
        if method != "POST":
            raise HttpError(405, "POST events here", headers=[(b"allow", b"POST")])
        self.counts["requests"] += 1
        if self.auth is not None:
            self.auth.check(scope)
        kind = _kind(header(scope, b"content-type"))
        query = scope.get("query_string", b"")
        atomic = bool(query) and parse_qs(query.decode()).get("atomic", ["false"])[-1] == "true"
        with self.admission.admit(scope, self.max_body_bytes):
            body = await read_body(scope, receive, self.max_body_bytes, self.admission.limits.body_seconds)
            body = decompress(body, header(scope, b"content-encoding"), self.max_body_bytes)
            result = await self._batcher.submit((body, kind, atomic))
        return self._answer(result, atomic)

    def _answer(self, result: BodyResult, atomic: bool) -> tuple[int, object, list[tuple[bytes, bytes]]]:
        if result.error is not None:
            raise HttpError(*result.error)
        if result.failure is not None:
            self.counts["unavailable"] += 1
            message = f"the message service is unavailable, nothing of this request was published: {result.failure}"
            if result.failure.maybe_published:
                message = ("the message service did not confirm this request (it timed out or the connection broke "
                           "after it was sent): its events may or may not have been published, and sending it again "
                           "may publish them twice (an event_id in each event lets the reader drop the repeats): "
                           f"{result.failure}")  # fmt: skip
            if result.queued_before_failure:
                message = (f"the queue is unavailable; {result.queued_before_failure} of this request's events were "
                           "queued before the failure, and sending it again queues them again (an event_id in "
                           f"each event lets the reader drop the repeats): {result.failure}")  # fmt: skip
            raise HttpError(503, message, headers=[(b"retry-after", str(RETRY_AFTER).encode())])
        if result.events == 0:
            raise HttpError(400, "the body holds no events")
        rejected = [r.as_json() for r in result.rejects]
        self.counts["accepted"] += result.accepted
        self.counts["rejected"] += len(rejected)
        answer = {"accepted": result.accepted, "rejected": rejected}
        if result.accepted == 0:
            if atomic:
                answer["error"] = "atomic request with refused events: nothing was published"
            return 400, answer, []
        return 200, answer, []

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Publish what was submitted, then release the publisher."""
        self._batcher.close()
        self.publisher.close()


def _kind(content_type: bytes | None) -> int:
    media = (content_type or b"").split(b";", 1)[0].strip().lower()
    kind = _KINDS.get(media)
    if kind is None:
        got = media.decode(errors="replace") or "none"
        raise HttpError(415, f"Content-Type {got!r}: send application/json (an event or an array) or "
                             "application/x-ndjson")  # fmt: skip
    return kind
