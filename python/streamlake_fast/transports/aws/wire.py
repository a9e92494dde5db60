"""SQS's JSON protocol, built and read in Rust: batch requests (delete, change visibility, send) and batch
results; the signed HTTP client that carries them without the GIL. Received messages: :meth:`Messages.from_sqs`."""

from __future__ import annotations

from dataclasses import dataclass

from streamlake_fast import _native
from streamlake_fast.codec.messages import Messages

__all__ = ["AwsJsonClient", "BatchFailure", "batch_failures", "batch_requests", "send_batch_requests", "sigv4_headers"]

#: ``AwsJsonClient(endpoint_url, region, service, target_prefix, *, timeout, max_connections)``: ``call(action,
#: body) -> (status, body)`` signs with SigV4 and posts, with the GIL released; ``set_credentials(...)``.
AwsJsonClient = _native.AwsJsonClient


@dataclass(frozen=True)
class BatchFailure:
    """A batch entry SQS did not carry out."""

    index: int  # the entry's position in the request's indices
    sender_fault: bool
    code: str
    message: str


def batch_requests(
    messages: Messages, queue_url: str, visibility: int | None = None, indices: list[int] | None = None
) -> list[bytes]:
    """``DeleteMessageBatch`` bodies (``visibility`` None) or ``ChangeMessageVisibilityBatch`` ones for the
    messages at ``indices`` (all by default), ten entries each; entry ids count up across the requests."""
    return messages._native.sqs_batch_requests(queue_url, visibility, indices)


def batch_failures(body: bytes) -> tuple[int, list[BatchFailure]]:
    """How many entries of a batch response succeeded, and the failed ones."""
    ok, failed = _native.sqs_batch_failures(body)
    return ok, [BatchFailure(*f) for f in failed]


def send_batch_requests(
    queue_url: str, entries: list[tuple[str, list[tuple[str, str]], str | None, str | None]], max_bytes: int
) -> list[tuple[bytes, int]]:
    """``SendMessageBatch`` bodies of ``(body, attributes, group id, deduplication id)`` entries: at most ten
    entries and ``max_bytes`` each; with the number of entries in each."""
    return _native.sqs_send_batch_requests(queue_url, entries, max_bytes)


def sigv4_headers(
    credentials: tuple[str, str, str | None],
    region: str,
    service: str,
    host: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    amz_date: str,
) -> list[tuple[str, str]]:
    """The headers Signature Version 4 adds to a POST (what :class:`AwsJsonClient` sends; for tests)."""
    access_key, secret_key, token = credentials
    return _native.sigv4_headers(access_key, secret_key, token, region, service, host, path, headers, body, amz_date)
