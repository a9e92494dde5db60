"""The codec: one call decodes a whole batch of JSON events into a pyarrow.RecordBatch plus rejects."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from streamlake_fast import _native
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.schema import Schema
from streamlake_fast.exceptions import DecodeError

__all__ = ["REJECT_CODES", "Codec", "DecodeResult", "Reject"]

REJECT_CODES: tuple[str, ...] = tuple(_native.REJECT_CODES)
"""Every reject code slug; stable across releases."""


@dataclass(frozen=True, slots=True)
class Reject:
    """One rejected event.

    ``index`` is the position in the input (for NDJSON, the 0-based line number); ``path`` locates the bad value
    (``"items[2].qty"``; empty for the whole message); ``code`` is a stable slug from :data:`REJECT_CODES`;
    ``message`` is human text.
    """

    index: int
    code: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"row {self.index}{where}: {self.code}: {self.message}"

    def as_json(self, offset: int = 0) -> dict[str, object]:
        """The one JSON shape of a reject, in every answer and report (``serve``'s answers, ``decode --rejects``,
        ``publish --rejects``): ``{"index", "code", "path", "message"}``; ``offset`` is added to the index (the
        position of this batch in a longer input)."""
        return {"index": self.index + offset, "code": self.code, "path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """The valid rows as one ``pyarrow.RecordBatch`` (input order) and the rejected ones."""

    batch: pa.RecordBatch
    rejects: list[Reject]

    @property
    def num_rows(self) -> int:
        return int(self.batch.num_rows)

    def rejected_indices(self) -> list[int]:
        """Input positions of the rejected events."""
        return [r.index for r in self.rejects]


class Codec:
    """A schema compiled once, reused for every batch; safe to share between threads (the GIL is released).

    :param schema: the table schema.
    :param unknown_fields: ``"reject"`` (default) or ``"ignore"`` keys the schema does not declare; ignored
        values must still be valid JSON.
    :param max_message_bytes: larger messages are rejected unread (default 10,000,000: Pub/Sub's limit).
    :param max_depth: maximum nesting of objects and arrays, the event itself being level 1 (default 500,
        BigQuery's JSON limit; at most 1,000, which keeps the stack a value is read with under 256 KiB).
    :param redact_values: leave the event's values out of reject messages (``expected an INT64, got "…"``), for
        events holding personal data; the path still names the field.
    """

    __slots__ = ("_native", "_options", "schema")

    def __init__(
        self,
        schema: Schema,
        *,
        unknown_fields: Literal["reject", "ignore"] = "reject",
        max_message_bytes: int = 10_000_000,
        max_depth: int = 500,
        redact_values: bool = False,
    ) -> None:
        if not isinstance(schema, Schema):
            raise TypeError(f"schema must be a streamlake_fast.Schema, got {type(schema).__name__}")
        self.schema = schema
        self._options: dict[str, Any] = {"unknown_fields": unknown_fields, "max_message_bytes": max_message_bytes,
                                         "max_depth": max_depth, "redact_values": redact_values}  # fmt: skip
        self._native = _native.Codec(schema._native, **self._options)

    def with_schema(self, schema: Schema) -> Codec:
        """A codec for ``schema`` with this one's options (after the table's schema changed)."""
        return Codec(schema, **self._options)

    def decode(
        self, messages: Iterable[bytes] | bytes | Messages, *, metadata: Sequence[str] = (), source: str = ""
    ) -> DecodeResult:
        """Decode a list of messages (one JSON object each), one ``bytes`` buffer of newline-delimited JSON, or
        received :class:`~streamlake_fast.Messages`.

        For received messages, ``metadata`` names columns of :data:`~streamlake_fast.codec.messages.METADATA_SCHEMA`
        to append to the valid rows, filled in the same pass (``subscription_name`` holds ``source``).
        """
        if isinstance(messages, Messages):
            raw, rejects = messages._native.decode(self._native, list(metadata), source)
        elif metadata:
            raise DecodeError("metadata columns need received Messages, not raw bytes")
        elif isinstance(messages, (bytes, bytearray, memoryview)):
            raw, rejects = self._native.decode_ndjson(bytes(messages) if not isinstance(messages, bytes) else messages)
        else:
            raw, rejects = self._native.decode_messages(messages)
        batch = pa.record_batch(raw)
        return DecodeResult(batch, [Reject(*r) for r in rejects])

    def __repr__(self) -> str:
        return f"Codec({self.schema!r})"


if _native.DEBUG_BUILD:
    warnings.warn(
        "streamlake_fast was built in debug mode and is much slower; build with `maturin develop --release`",
        RuntimeWarning,
        stacklevel=2,
    )
