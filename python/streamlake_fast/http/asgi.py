"""The little of ASGI the two services need: headers, a body read within a limit, decompression within a limit,
JSON responses, and errors that are answers (:class:`HttpError`)."""

from __future__ import annotations

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


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body; 413 beyond ``limit`` bytes (told by Content-Length before reading, or found while
    reading)."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise HttpError(413, f"request body of {int(length):,} bytes; at most {limit:,}")
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(499, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"request body over {limit:,} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def decompress(body: bytes, encoding: bytes | None, limit: int) -> bytes:
    """``body`` decoded per ``Content-Encoding`` (gzip, zstd or identity); 413 when it grows past ``limit``,
    415 for another encoding, 400 when it is not what it says."""
    enc = (encoding or b"identity").strip().lower()
    if enc == b"identity":
        return body
    if enc in (b"gzip", b"x-gzip"):
        d = zlib.decompressobj(wbits=31)
        try:
            out = d.decompress(body, limit + 1)
        except zlib.error as e:
            raise HttpError(400, f"the body is not valid gzip: {e}") from e
        if len(out) > limit:
            raise HttpError(413, f"decompressed body over {limit:,} bytes")
        if not d.eof:
            raise HttpError(400, "the gzip body is truncated")
        return out
    if enc == b"zstd":
        import zstandard

        try:
            with zstandard.ZstdDecompressor().stream_reader(body) as reader:
                out = reader.read(limit + 1)
        except zstandard.ZstdError as e:
            raise HttpError(400, f"the body is not valid zstd: {e}") from e
        if len(out) > limit:
            raise HttpError(413, f"decompressed body over {limit:,} bytes")
        return out
    raise HttpError(415, f"Content-Encoding {enc.decode(errors='replace')!r} is not supported (gzip, zstd, identity)")


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*(headers or _JSON),
                (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await respond(send, status, msgspec.json.encode(body), [*_JSON, *(headers or [])])
