"""Exceptions raised by streamlake_fast.

Bad *rows* never raise: they come back as :class:`~streamlake_fast.Reject` entries. These exceptions are for bad
configuration (a schema that cannot be compiled) and for calls that cannot be carried out at all.
"""

from __future__ import annotations

__all__ = ["DecodeError", "SchemaError", "StreamlakeError"]


class StreamlakeError(Exception):
    """Base class of every streamlake_fast error."""


class SchemaError(StreamlakeError, ValueError):
    """The schema is invalid (unknown type or mode, duplicate or bad name, RECORD nesting beyond 15 levels, ...)."""


class DecodeError(StreamlakeError, ValueError):
    """A whole decode call failed (never raised for a bad row; those are rejects)."""
