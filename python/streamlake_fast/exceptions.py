"""Every exception streamlake_fast raises, in one hierarchy.

Bad *rows* never raise: they come back as :class:`~streamlake_fast.Reject` entries. These exceptions are for bad
configuration and for calls that cannot be carried out. Errors from the Rust core are converted to these classes in
one place (``rust/src/python/errors.rs``). The CLI prints any :class:`StreamlakeError` as one line and exits 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

__all__ = [
    "ConfigError",
    "DecodeError",
    "MissingExtra",
    "PublishError",
    "SchemaError",
    "ServerUnavailable",
    "SinkError",
    "SourceError",
    "StreamlakeError",
    "TransientSinkError",
    "outcomes",
]


class StreamlakeError(Exception):
    """Base class of every streamlake_fast error."""


class SchemaError(StreamlakeError, ValueError):
    """The schema is invalid (unknown type or mode, duplicate or bad name, RECORD nesting beyond 15 levels, ...)."""


class DecodeError(StreamlakeError, ValueError):
    """A whole decode call failed (never raised for a bad row; those are rejects), or a message service's
    response could not be read."""


class ConfigError(StreamlakeError, ValueError):
    """The configuration is invalid or inconsistent (a malformed resource name, a given schema that does not
    match the table, a missing file, ...)."""


class MissingExtra(StreamlakeError, ImportError):
    """A path that needs an optional extra (``gcp``, ``aws``, ``http``, ``beam``) was used without it installed;
    the message names the extra to install."""


class SourceError(StreamlakeError):
    """A source cannot receive any more (the subscription was deleted, permission was withdrawn, ...)."""


class SinkError(StreamlakeError):
    """A sink refused a write for good (bad schema, permission, missing table): retrying will not help."""


class TransientSinkError(SinkError):
    """A sink could not write for now (unavailable, timed out, throttled): retry with backoff."""


class PublishError(StreamlakeError):
    """Pub/Sub or SQS refused or kept failing a publish; ``published`` events of the call are known to have gone
    out before it, and with ``maybe_published`` the service may have taken the failed call too (it timed out or
    the connection broke after the request was sent: the outcome is unknown)."""

    def __init__(self, message: str, published: int = 0, *, retryable: bool = True, maybe_published: bool = False):
        super().__init__(message)
        self.published = published
        self.retryable = retryable  # False: Pub/Sub refused for good (a missing topic, an invalid message, ...)
        self.maybe_published = maybe_published


def outcomes(futures: Sequence[Future[T]]) -> list[T | PublishError]:
    """Each future's result, or the :class:`PublishError` it failed with, in order. Any other exception (a fault
    in the sending code) becomes a :class:`PublishError` of that call alone, its outcome unknown: the calls that
    succeeded beside it keep their results."""
    out: list[T | PublishError] = []
    for f in futures:
        try:
            out.append(f.result())
        except PublishError as e:
            out.append(e)
        except Exception as e:
            out.append(PublishError(f"unexpected {type(e).__name__}: {e}", maybe_published=True))
    return out


class ServerUnavailable(StreamlakeError):
    """A local server (an emulator) is not installed or did not start."""
