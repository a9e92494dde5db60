"""Envelopes: many events in one message — NDJSON compressed with zstd — so that each hop bills, sends and
acknowledges one message for many events.

A publisher seals (``Envelope``: ``streamlake publish --envelope zstd``, ``streamlake serve --envelope zstd``);
every reader opens them in Rust before the decode (:meth:`Messages.opened <streamlake_fast.Messages.opened>`),
plain messages and envelopes mixed on one subscription. An envelope's attributes: ``content-encoding: zstd``,
``content-type: application/x-ndjson``, ``event-count: N`` (checked when present) and, on SQS, whose bodies are
text, ``content-transfer-encoding: base64`` (the body is the base64 of the frame), and with a dictionary,
``content-dictionary: ID``. Each event keeps its message's
id, attributes (but those) and publish time, and its line in the envelope as the ``event_index`` metadata column.
An envelope that cannot be opened is one dead letter, whole: ``bad_envelope`` (not zstd, truncated, another
encoding, a wrong ``event-count``), ``envelope_too_large`` (decompresses past ``OpenLimits.max_bytes``: a
decompression bomb), ``envelope_too_many_events``, ``unknown_dictionary`` (compressed with a dictionary this
process has not loaded: load it and replay them).

A :class:`Dictionary` (zstd's, trained on a sample of the stream's events: ``streamlake dictionary train``) lets a
small envelope — a few events, as a quiet ``serve`` with a short linger or SQS's 256 KiB bodies make — compress as
well as a large one. It is named by the id zstd writes into it and into every frame made with it; publishers seal
with one, and every reader opens envelopes with the dictionaries loaded in its process (``--envelope-dictionary``,
``codec.envelope_dictionaries``), any number, old and new side by side while publishers move to a new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from streamlake_fast import _native
from streamlake_fast.exceptions import ConfigError

__all__ = [
    "CONTENT_ENCODING", "CONTENT_TYPE", "DICTIONARY", "EVENT_COUNT", "TRANSFER_ENCODING",
    "Dictionary", "Envelope", "OpenLimits", "load_dictionaries",
]  # fmt: skip

CONTENT_ENCODING, CONTENT_TYPE, EVENT_COUNT = "content-encoding", "content-type", "event-count"
TRANSFER_ENCODING, DICTIONARY = "content-transfer-encoding", "content-dictionary"

#: Dictionary size: zstd's default for ``--train`` (110 KB) is for files; events of a few hundred bytes need less.
DICTIONARY_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class Dictionary:
    """A zstd dictionary, registered in this process for sealing and opening envelopes (made by
    :meth:`of`, :meth:`load` or :meth:`train`)."""

    id: int  # zstd's dictionary id: what ``content-dictionary`` names
    data: bytes = field(repr=False)

    @classmethod
    def of(cls, data: bytes) -> Dictionary:
        """The dictionary in ``data`` (zstd's format, e.g. ``zstd --train``'s output), registered."""
        try:
            return cls(_native.register_dictionary(data), data)
        except ValueError as e:
            raise ConfigError(str(e)) from None

    @classmethod
    def load(cls, path: str | Path) -> Dictionary:
        """The dictionary in the file at ``path``, registered."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read the envelope dictionary {path}: {e}") from None
        try:
            return cls.of(data)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None

    @classmethod
    def train(cls, events: Sequence[bytes], *, size: int = DICTIONARY_BYTES) -> Dictionary:
        """A dictionary of at most ``size`` bytes trained on ``events`` (a sample of the stream's: a thousand or
        more, as they are published), registered."""
        if size < 256:
            raise ConfigError(f"a dictionary needs at least 256 bytes, got size={size}")
        if len(events) < 10:
            raise ConfigError(f"training a dictionary needs at least 10 events, got {len(events)}")
        try:
            return cls.of(_native.train_dictionary(list(events), size))
        except ValueError as e:  # zstd's own words: e.g. too few samples for the size
            raise ConfigError(f"{e} ({len(events):,} events, size {size:,}): give more events or a smaller "
                              "size") from None  # fmt: skip

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.data)


def load_dictionaries(paths: Iterable[str | Path]) -> list[Dictionary]:
    """Load and register each dictionary file, so that envelopes made with any of them open in this process."""
    return [Dictionary.load(p) for p in paths]


@dataclass(frozen=True, slots=True)
class Envelope:
    """How a publisher seals events: ``max_bytes`` of NDJSON (before compression) and ``max_events`` per envelope,
    zstd ``level``, with ``dictionary`` when given. An event larger than ``max_bytes`` is an envelope of its own."""

    encoding: Literal["zstd"] = "zstd"
    max_bytes: int = 1 << 20
    max_events: int = 10_000
    level: int = 3
    dictionary: Dictionary | None = None

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
