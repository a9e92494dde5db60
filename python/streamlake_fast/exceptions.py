"""Exceptions raised by streamlake_fast.

Bad *rows* never raise: they come back as :class:`~streamlake_fast.Reject` entries. These exceptions are for bad
configuration (a schema that cannot be compiled) and for calls that cannot be carried out at all.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DecodeError", "SchemaError", "SinkError", "StreamlakeError", "TransientSinkError"]


class StreamlakeError(Exception):
    """Base class of every streamlake_fast error."""


class SchemaError(StreamlakeError, ValueError):
    """The schema is invalid (unknown type or mode, duplicate or bad name, RECORD nesting beyond 15 levels, ...)."""


class DecodeError(StreamlakeError, ValueError):
    """A whole decode call failed (never raised for a bad row; those are rejects)."""


class SinkError(StreamlakeError):
    """A sink refused a write for good (bad schema, permission, missing table): retrying will not help."""


class TransientSinkError(SinkError):
    """A sink could not write for now (unavailable, timed out, throttled): retry with backoff."""


class ConfigError(StreamlakeError, ValueError):
    """The worker's configuration is invalid or inconsistent (e.g. a given schema that does not match the table)."""
