"""Envelopes: many events in one message — NDJSON compressed with zstd — so that each hop bills, sends and
acknowledges one message for many events.

A publisher seals (``Envelope``: ``streamlake publish --envelope zstd``, ``streamlake serve --envelope zstd``);
every reader opens them in Rust before the decode (:meth:`Messages.opened <streamlake_fast.Messages.opened>`),
plain messages and envelopes mixed on one subscription. An envelope's attributes: ``content-encoding: zstd``,
``content-type: application/x-ndjson``, ``event-count: N`` (checked when present) and, on SQS, whose bodies are
text, ``content-transfer-encoding: base64`` (the body is the base64 of the frame). Each event keeps its message's
id, attributes (but those) and publish time, and its line in the envelope as the ``event_index`` metadata column.
An envelope that cannot be opened is one dead letter, whole: ``bad_envelope`` (not zstd, truncated, another
encoding, a wrong ``event-count``), ``envelope_too_large`` (decompresses past ``OpenLimits.max_bytes``: a
decompression bomb), ``envelope_too_many_events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streamlake_fast.exceptions import ConfigError

__all__ = ["CONTENT_ENCODING", "CONTENT_TYPE", "EVENT_COUNT", "TRANSFER_ENCODING", "Envelope", "OpenLimits"]

CONTENT_ENCODING, CONTENT_TYPE, EVENT_COUNT = "content-encoding", "content-type", "event-count"
TRANSFER_ENCODING = "content-transfer-encoding"


@dataclass(frozen=True, slots=True)
class Envelope:
    """How a publisher seals events: ``max_bytes`` of NDJSON (before compression) and ``max_events`` per envelope,
    zstd ``level``. An event larger than ``max_bytes`` is an envelope of its own."""

    encoding: Literal["zstd"] = "zstd"
    max_bytes: int = 1 << 20
    max_events: int = 10_000
    level: int = 3

    def __post_init__(self) -> None:
        if self.encoding != "zstd":
            raise ConfigError(f"envelope encoding must be 'zstd', got {self.encoding!r}")
        if self.max_bytes < 1 or self.max_events < 1:
            raise ConfigError(f"envelope max_bytes and max_events must be positive, got {self.max_bytes}, "
                              f"{self.max_events}")  # fmt: skip
        if not -7 <= self.level <= 22:
            raise ConfigError(f"envelope level must be between -7 and 22 (zstd's levels), got {self.level}")


@dataclass(frozen=True, slots=True)
class OpenLimits:
    """What one envelope may open into: decompressed bytes and events (past either, it is a dead letter)."""

    max_bytes: int = 64 << 20
    max_events: int = 100_000
