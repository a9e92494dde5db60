"""The push handler's HTTP face: an ASGI app (``streamlake push-handler``, any ASGI server) and a plain function
for the Functions Framework (Cloud Run functions) or any WSGI server — both handing deliveries to one
the :class:`~streamlake_fast.runtimes.push.writer.PushWriter` through a
:class:`~streamlake_fast.http.microbatch.MicroBatcher`, so concurrent deliveries are decoded and appended together."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.http.admission import Admission, Limits
from streamlake_fast.http.asgi import HttpError, Receive, Scope, Send, header, read_body, respond, respond_json
from streamlake_fast.http.auth import Authenticator
from streamlake_fast.http.microbatch import LoopBatcher, MicroBatcher
from streamlake_fast.runtimes.push.writer import PushDelivery, PushWriter

__all__ = ["PushApp", "attribute_names", "push_function", "unwrapped_delivery"]

#: Pub/Sub's largest message is 10 MB; its push envelope carries it in base64.
MAX_PUSH_BYTES = 14_000_000
_TIME_HEADER = "x-goog-pubsub-publish-time"
_ID_HEADER = "x-goog-pubsub-message-id"


def _batcher(writer: PushWriter, max_messages: int, max_wait: float) -> MicroBatcher[PushDelivery, tuple[int, str]]:
    return MicroBatcher(writer.write, max_items=max_messages, max_weight=64 << 20, weight=lambda d: len(d.body),
                        max_wait=max_wait, workers=1, name="push")  # fmt: skip


def unwrapped_delivery(body: bytes, headers: Mapping[str, str], attribute_headers: Sequence[str] = ()) -> PushDelivery:
    """A ``--push-no-wrapper`` delivery: the data, and the metadata Pub/Sub writes as headers with
    ``write_metadata`` (none without it: the message id is then empty). Pub/Sub writes the message's attributes as
    plain ``KEY: VALUE`` headers among the transport's own (``host``, ``user-agent``, a proxy's ``x-forwarded-*``),
    so only the headers named in ``attribute_headers`` are taken as attributes (under their lower-case name)."""
    when = headers.get(_TIME_HEADER, "")
    try:
        micros = rfc3339_micros(when) if when else 0
    except ValueError as e:
        raise HttpError(400, f"{_TIME_HEADER} {when!r} is not a time") from e
    attributes = {name: value for name in attribute_headers if (value := headers.get(name)) is not None}
    return PushDelivery(body, (headers.get(_ID_HEADER, ""), micros, attributes))


def attribute_names(names: Sequence[str]) -> tuple[str, ...]:
    """The header names to take as attributes, lower-cased (HTTP header names are case-insensitive), checked."""
    for name in names:
        if not name or not _TOKEN.fullmatch(name):
            raise ConfigError(f"attribute header {name!r} is not an HTTP header name")
    return tuple(dict.fromkeys(n.lower() for n in names))


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def rfc3339_micros(when: str) -> int:
    """Microseconds since the epoch of an RFC 3339 time as Pub/Sub writes it (``2026-12-06T10:00:00.123456789Z``:
    nanoseconds, which ``datetime.fromisoformat`` refuses before Python 3.11; digits past the microsecond are cut)."""
    from datetime import datetime, timezone

    text = _FRACTION.sub(r"\1", when.strip(), count=1).replace("Z", "+00:00").replace("z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class PushApp:
    """The ASGI app: ``POST /`` with a push delivery → 204 once it is durable; ``GET /healthz``."""

    def __init__(
        self,
        writer: PushWriter,
        *,
        auth: Authenticator | None = None,
        unwrapped: bool = False,
        attribute_headers: Sequence[str] = (),
        max_messages: int = 1000,
        max_wait: float = 0.0,
        limits: Limits | None = None,
    ) -> None:
        self.writer = writer
        self.auth = auth
        self.admission = Admission(limits)
        self.unwrapped = unwrapped
        self._headers = (_TIME_HEADER, _ID_HEADER, *attribute_names(attribute_headers))
        self._batcher: LoopBatcher[PushDelivery, tuple[int, str]] = LoopBatcher(
            writer.write, max_items=max_messages, max_weight=64 << 20, weight=lambda d: len(d.body), workers=1,
            linger=max_wait, name="push",
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await asyncio.get_running_loop().run_in_executor(None, self.close)
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        try:
            status, why = await self._handle(scope, receive)
        except HttpError as e:
            await respond_json(send, e.status, e.body, e.headers)
            return
        if status == 204:
            await respond(send, 204, b"", [])
        else:
            await respond_json(send, status, {"error": why})

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, str]:
        if scope["method"] == "GET" and scope["path"] == "/healthz":
            return 200, "ok"
        if scope["method"] != "POST":
            raise HttpError(405, "POST push deliveries here", headers=[(b"allow", b"POST")])
        if self.auth is not None:
            self.auth.check(scope)
        with self.admission.admit(scope, MAX_PUSH_BYTES):
            body = await read_body(scope, receive, MAX_PUSH_BYTES, self.admission.limits.body_seconds)
            if self.unwrapped:
                found = {n: v.decode("latin-1") for n in self._headers if (v := header(scope, n.encode())) is not None}
                delivery = unwrapped_delivery(body, found, self._headers[2:])
            else:
                delivery = PushDelivery(body)
            return await self._batcher.submit(delivery)

    def close(self) -> None:
        self._batcher.close()
        self.writer.close()


def push_function(
    make_writer: Callable[[], PushWriter],
    *,
    auth: Authenticator | None = None,
    unwrapped: bool = False,
    attribute_headers: Sequence[str] = (),
    max_messages: int = 1000,
    max_wait: float = 0.0,
) -> Callable[[Any], tuple[str, int]]:
    """A function for the Functions Framework's HTTP signature (a Flask request in, ``(body, status)`` out), or
    any WSGI framework handing it a request with ``get_data()`` and ``headers``: concurrent invocations (the
    framework's threads) are written together. The writer is made on the first call in each process: the
    framework imports the function before its server forks, and threads and gRPC channels do not survive a fork."""
    attributes = attribute_names(attribute_headers)
    made: dict[int, MicroBatcher[PushDelivery, tuple[int, str]]] = {}
    lock = threading.Lock()

    def batcher() -> MicroBatcher[PushDelivery, tuple[int, str]]:
        pid = os.getpid()
        if pid not in made:
            with lock:
                if pid not in made:
                    made[pid] = _batcher(make_writer(), max_messages, max_wait)
        return made[pid]

    def handle(request: Any) -> tuple[str, int]:
        try:
            if auth is not None:
                auth.check_header(request.headers.get("Authorization"))
            if (request.content_length or 0) > MAX_PUSH_BYTES:
                raise HttpError(413, f"request body over {MAX_PUSH_BYTES:,} bytes")
            body = request.get_data()
            if len(body) > MAX_PUSH_BYTES:
                raise HttpError(413, f"request body over {MAX_PUSH_BYTES:,} bytes")
            delivery = unwrapped_delivery(body, request.headers, attributes) if unwrapped else PushDelivery(body)
        except HttpError as e:
            return str(e), e.status
        status, why = batcher().submit(delivery).result()
        return why, status

    return handle
