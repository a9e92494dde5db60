"""Bodies within limits: decompression (gzip, zstd) with a cap that stops a bomb, the encodings refused with 415,
bearer tokens."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest
import zstandard

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.http.asgi import HttpError, decompress
from streamlake_fast.http.auth import BearerAuth
from streamlake_fast.runtimes.push.app import attribute_names, unwrapped_delivery

BODY = b'{"id": "a"}\n' * 1000


@pytest.mark.parametrize("encoding", [None, b"identity", b"gzip", b"x-gzip", b"GZIP ", b"zstd"])
def test_each_encoding_decodes(encoding: bytes | None) -> None:
    raw = encoding.strip().lower() if encoding else b"identity"
    body = {b"identity": BODY, b"gzip": gzip.compress(BODY), b"x-gzip": gzip.compress(BODY),
            b"zstd": zstandard.ZstdCompressor().compress(BODY)}[raw]  # fmt: skip
    assert decompress(body, encoding, len(BODY)) == BODY


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_a_bomb_stops_at_the_limit(compress: object) -> None:
    bomb = compress(b"\0" * 50_000_000)  # type: ignore[operator]
    assert len(bomb) < 100_000
    with pytest.raises(HttpError) as e:
        decompress(bomb, b"gzip" if compress is gzip.compress else b"zstd", 1_000_000)
    assert e.value.status == 413 and "decompressed body over 1,000,000 bytes" in str(e.value)


def test_bad_and_unknown_encodings() -> None:
    with pytest.raises(HttpError) as e:
        decompress(b"not gzip", b"gzip", 100)
    assert e.value.status == 400
    with pytest.raises(HttpError) as e:
        decompress(gzip.compress(BODY)[:-20], b"gzip", len(BODY))
    assert e.value.status == 400 and "truncated" in str(e.value)
    with pytest.raises(HttpError) as e:
        decompress(b"x", b"br", 100)
    assert e.value.status == 415 and e.value.body == {"error": str(e.value)}


GZIP, ZSTD = gzip.compress, zstandard.ZstdCompressor().compress
A, B = b'{"id": "a"}\n' * 10, b'{"id": "b"}\n' * 10


@pytest.mark.parametrize(("compress", "encoding"), [(GZIP, b"gzip"), (ZSTD, b"zstd")])
def test_every_member_or_frame_is_decompressed(compress: Callable[[bytes], bytes], encoding: bytes) -> None:
    """``cat a.gz b.gz`` is one valid gzip stream (RFC 1952: a series of members), and several zstd frames one
    valid zstd stream: all of it is the body, not its first member."""
    assert decompress(compress(A) + compress(B), encoding, 1000) == A + B
    assert decompress(compress(A) + compress(b"") + compress(B), encoding, 1000) == A + B
    with pytest.raises(HttpError) as e:  # the limit counts every member
        decompress(compress(A) + compress(B), encoding, len(A) + 5)
    assert e.value.status == 413


@pytest.mark.parametrize(("compress", "encoding"), [(GZIP, b"gzip"), (ZSTD, b"zstd")])
@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda c: c[:-3], "truncated"),
        (lambda c: c[: len(c) * 3 // 4], "truncated"),
        (lambda c: c + b"junk!", "not valid"),
    ],
)
def test_a_truncated_or_trailed_body_is_refused_whole(
    compress: Callable[[bytes], bytes], encoding: bytes, damage: Callable[[bytes], bytes], why: str
) -> None:
    body = damage(compress(A) + compress(B))
    with pytest.raises(HttpError) as e:
        decompress(body, encoding, 1000)
    assert e.value.status == 400 and why in str(e.value), str(e.value)


def test_bearer_tokens() -> None:
    auth = BearerAuth("t0ken")
    auth.check({"headers": [(b"authorization", b"Bearer t0ken")]})
    auth.check({"headers": [(b"authorization", b"bearer t0ken ")]})
    for headers, status in [
        ([], 401),
        ([(b"authorization", b"Basic x")], 401),
        ([(b"authorization", b"Bearer no")], 403),
    ]:
        with pytest.raises(HttpError) as e:
            auth.check({"headers": headers})
        assert e.value.status == status
    with pytest.raises(ConfigError, match="empty"):
        BearerAuth("")


@pytest.mark.parametrize(
    ("when", "micros"),
    [
        ("2026-12-06T10:00:00.123456789Z", 1_796_551_200_123_456),  # Pub/Sub writes nanoseconds
        ("2026-12-06T10:00:00Z", 1_796_551_200_000_000),
        ("2026-12-06T11:00:00.5+01:00", 1_796_551_200_500_000),
        ("1969-12-31T23:59:59.5Z", -500_000),
    ],
)
def test_push_publish_times_as_pubsub_writes_them(when: str, micros: int) -> None:
    """The unwrapped push's ``x-goog-pubsub-publish-time``, on every Python the package supports (3.10's
    ``fromisoformat`` refuses nine fraction digits: those deliveries were answered 400 and redelivered forever)."""
    delivery = unwrapped_delivery(b"{}", {"x-goog-pubsub-publish-time": when, "x-goog-pubsub-message-id": "7"})
    assert delivery.unwrapped == ("7", micros, {})
    with pytest.raises(HttpError) as e:
        unwrapped_delivery(b"{}", {"x-goog-pubsub-publish-time": "2026-12-06T10:00:00"})  # no zone: not a time
    assert e.value.status == 400


def test_unwrapped_push_takes_only_the_named_headers_as_attributes() -> None:
    """Pub/Sub writes an unwrapped message's attributes as plain headers, among the HTTP ones: only the headers the
    handler was told of become attributes (a proxy's ``x-forwarded-for`` or the ``user-agent`` never do)."""
    headers = {"x-goog-pubsub-message-id": "7", "source": "shop-7", "user-agent": "APIs-Google", "x-forwarded-for": "1"}
    delivery = unwrapped_delivery(b"{}", headers, attribute_names(["Source", "region"]))
    assert delivery.unwrapped == ("7", 0, {"source": "shop-7"})
    assert unwrapped_delivery(b"{}", headers).unwrapped == ("7", 0, {})
    with pytest.raises(ConfigError, match="not an HTTP header name"):
        attribute_names(["bad name"])
