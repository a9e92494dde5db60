"""The little of ASGI the two services need: headers, a body read within a limit, decompression within a limit,
JSON responses, and errors that are answers (:class:`HttpError`)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

__all__ = ["HttpError", "Receive", "Scope", "Send", "decompress", "header", "read_body", "respond", "respond_json"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]


class HttpError(Exception):
    """An answer other than success: ``status``, a JSON body ``{"error": message}`` (or ``body``), headers."""

    def __init__(self, status: int, message: str, *, headers: list[tuple[bytes, bytes]] | None = None,
                 body: object | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.headers = headers or []
        self.body = body if body is not None else {"error": message}


def header(scope: Scope, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower case), or None."""
    for k, v in scope["headers"]:
        if k == name:
            return bytes(v)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int, seconds: float = 30.0) -> bytes:
    """The request body; 413 beyond ``limit`` bytes (told by Content-Length before reading, or found while
    reading), 408 when it has not all arrived within ``seconds`` (a client trickling bytes holds a place)."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise HttpError(413, f"request body of {int(length):,} bytes; at most {limit:,}")
    try:
        if _timeout is not None:  # one timer for the whole body (Python 3.11+: ~5 µs a request)
            async with _timeout(seconds):
                return await _receive_body(receive, limit, None)
        return await _receive_body(receive, limit, asyncio.get_running_loop().time() + seconds)
    except asyncio.TimeoutError:
        raise HttpError(408, f"the request body did not arrive within {seconds:g} s",
                        headers=[(b"connection", b"close")]) from None  # fmt: skip


#: ``asyncio.timeout`` where it exists (3.11+); 3.10 times each ``receive()`` against the deadline instead.
_timeout: Any = getattr(asyncio, "timeout", None)


async def _receive_body(receive: Receive, limit: int, deadline: float | None) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        if deadline is None:
            message = await receive()
        else:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - asyncio.get_running_loop().time()))
        if message["type"] == "http.disconnect":
            raise HttpError(499, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"request body over {limit:,} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


#: Compressed input fed to the zstd decompressor per step, so that what one step makes stays bounded however
#: compressible the body (a zstd block expands at most ~32,000 times: 1 KiB in, at most ~32 MiB out before the
#: limit is checked). gzip's decompressor takes the output limit itself.
_ZSTD_STEP = 1024


def decompress(body: bytes, encoding: bytes | None, limit: int) -> bytes:
    """``body`` decoded per ``Content-Encoding`` (gzip, zstd or identity): every gzip member and every zstd frame
    (what ``cat a.gz b.gz`` makes is one gzip body), or an error for the whole body — 413 when it grows past
    ``limit``, 415 for another encoding, 400 when it is not what it says (truncated, or bytes after the last
    member that are not another one)."""
    enc = (encoding or b"identity").strip().lower()
    if enc == b"identity":
        return body
    if enc in (b"gzip", b"x-gzip"):
        return _gunzip(body, limit)
    if enc == b"zstd":
        return _unzstd(body, limit)
    raise HttpError(415, f"Content-Encoding {enc.decode(errors='replace')!r} is not supported (gzip, zstd, identity)")


def _over(limit: int) -> HttpError:
    return HttpError(413, f"decompressed body over {limit:,} bytes")


def _gunzip(body: bytes, limit: int) -> bytes:
    parts: list[bytes] = []
    size, rest, members = 0, body, 0
    while True:
        d = zlib.decompressobj(wbits=31)
        try:
            out = d.decompress(rest, limit + 1 - size)
        except zlib.error as e:
            raise HttpError(400, f"the body is not valid gzip (member {members + 1}): {e}") from e
        size += len(out)
        if size > limit:
            raise _over(limit)
        if not d.eof:
            raise HttpError(400, f"the gzip body is truncated (in member {members + 1})")
        parts.append(out)
        members += 1
        rest = d.unused_data
        if not rest.strip(b"\0"):  # the end, or the zero padding gzip tools accept after the last member
            return parts[0] if len(parts) == 1 else b"".join(parts)
        if not rest.startswith(b"\x1f\x8b"):
            raise HttpError(400, f"the body is not valid gzip: {len(rest):,} bytes after member {members} are not "
                                 "another member")  # fmt: skip


def _unzstd(body: bytes, limit: int) -> bytes:
    import zstandard

    parts: list[bytes] = []
    size, pos, frames = 0, 0, 0
    new = zstandard.ZstdDecompressor().decompressobj
    d, in_frame = new(), False
    while pos < len(body):
        chunk = body[pos : pos + _ZSTD_STEP]
        pos += len(chunk)
        try:
            out = d.decompress(chunk)
        except zstandard.ZstdError as e:
            raise HttpError(400, f"the body is not valid zstd (frame {frames + 1}): {e}") from e
        in_frame = True
        size += len(out)
        if size > limit:
            raise _over(limit)
        parts.append(out)
        if d.eof:  # a frame ended within this step: what followed it starts the next one
            frames += 1
            pos -= len(d.unused_data)
            d, in_frame = new(), False
    if in_frame:
        raise HttpError(400, f"the zstd body is truncated (in frame {frames + 1})")
    return b"".join(parts)


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*(headers or _JSON),
                (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await respond(send, status, msgspec.json.encode(body), [*_JSON, *(headers or [])])
