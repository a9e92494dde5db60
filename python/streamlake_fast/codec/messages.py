"""Received messages, held as the bytes they arrived in — no Python object per message — and the one definition
of the metadata columns a sink can ask for beside the event's own fields.

The metadata columns are those Pub/Sub's BigQuery subscriptions write: ``subscription_name`` (the source's name:
a subscription, or a queue for other sources), ``message_id``, ``publish_time`` and ``attributes`` (a JSON object
of strings, as text); and ``event_index``, the event's line in its envelope (0 for a plain message). They are
defined in Rust (``rust/src/metadata.rs``) and filled in the same call that decodes the events.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from streamlake_fast import _native
from streamlake_fast.codec.envelope import OpenLimits

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
OPEN_LIMITS = OpenLimits()

__all__ = ["DEAD_LETTER_SCHEMA", "METADATA_BIGQUERY_TYPES", "METADATA_SCHEMA", "Message", "Messages", "RouteGroup"]

#: The metadata columns as Arrow fields (never null; ``event_index`` an int64, the others strings and a timestamp).
METADATA_SCHEMA: pa.Schema = pa.record_batch(_native.METADATA_SCHEMA).schema
#: The dead-letter record as Arrow: the metadata columns, ``data``, then the reason columns (never null).
DEAD_LETTER_SCHEMA: pa.Schema = pa.record_batch(_native.DEAD_LETTER_SCHEMA).schema
#: For each metadata column, the BigQuery types a table may declare for it (the first is the one to create).
METADATA_BIGQUERY_TYPES: dict[str, tuple[str, ...]] = {name: tuple(types) for name, types in _native.METADATA_COLUMNS}


@dataclass(frozen=True, slots=True)
class Message:
    """One message as Python objects (for inspection and tests; the worker never builds these)."""

    data: bytes
    attributes: dict[str, str]
    message_id: str
    publish_time: datetime | None
    ordering_key: str
    delivery_attempt: int


@dataclass(frozen=True, slots=True)
class RouteGroup:
    """Messages that share a route key (:meth:`Messages.by_route`)."""

    key: str | None  # the attribute's or field's value; None: the message has none
    malformed: bool  # not well-formed JSON before its key (any route's codec says why)
    messages: Messages
    positions: Sequence[int]  # each message's index in the batch grouped

    def __len__(self) -> int:
        return len(self.messages)


class Messages:
    """A sequence of received messages: data and metadata as spans into the buffers they arrived in.

    Build them with :meth:`from_pubsub` (serialized ``PullResponse`` bytes) or :meth:`from_data` (raw events);
    join several with :meth:`concat`. Decode them with :meth:`Codec.decode <streamlake_fast.Codec.decode>`.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Messages) -> None:
        self._native = native

    @classmethod
    def from_pubsub(cls, responses: Sequence[bytes]) -> Messages:
        """Messages of serialized ``google.pubsub.v1.PullResponse`` bytes (raises ``DecodeError`` if malformed)."""
        return cls(_native.Messages.from_pull_responses(list(responses)))

    @classmethod
    def from_sqs(cls, responses: Sequence[bytes]) -> Messages:
        """Messages of SQS ``ReceiveMessage`` response bodies (AWS JSON protocol; raises ``DecodeError`` if
        malformed). Metadata: ``message_id`` ← MessageId, ``publish_time`` ← SentTimestamp, ``attributes`` ← the
        message attributes, ``ordering_key`` ← MessageGroupId, ``delivery_attempt`` ← ApproximateReceiveCount."""
        return cls(_native.Messages.from_sqs_responses(list(responses)))

    @classmethod
    def from_data(cls, data: Sequence[bytes], *, first_id: int = 1, publish_time_us: int | None = None) -> Messages:
        """Messages holding ``data``, with ids ``first_id, first_id + 1, ...`` published at ``publish_time_us``
        (microseconds since the epoch; default now)."""
        at = time.time_ns() // 1000 if publish_time_us is None else publish_time_us
        return cls(_native.Messages.from_data(data, first_id, at))

    @classmethod
    def from_parts(cls, parts: Sequence[tuple[bytes, Mapping[str, str] | None, str, int, str]]) -> Messages:
        """Messages given field by field: ``(data, attributes, message_id, publish_time_us, ordering_key)`` each —
        messages that reached the process some other way (an Apache Beam ``PubsubMessage``, a push delivery)."""
        return cls(_native.Messages.from_parts(list(parts)))  # type: ignore[arg-type]

    @classmethod
    def from_push(cls, bodies: Sequence[bytes]) -> tuple[Messages, list[tuple[int, str]], str]:
        """Messages of Pub/Sub push request bodies (the wrapped JSON envelope, or an Eventarc CloudEvent holding
        it in structured mode): (the messages of the bodies that could be read, in order; ``(index, why)`` of the
        others; the subscription the first names)."""
        native, errors, subscription = _native.Messages.from_push(list(bodies))
        return cls(native), errors, subscription

    @staticmethod
    def concat(parts: Sequence[Messages]) -> Messages:
        """One sequence of all ``parts``' messages, in order (nothing is copied or re-parsed)."""
        if len(parts) == 1:
            return parts[0]
        return Messages(_native.Messages.concat([p._native for p in parts]))

    def opened(self, limits: OpenLimits = OPEN_LIMITS) -> Messages:
        """These messages with every envelope (:mod:`streamlake_fast.codec.envelope`) opened into its events, in
        Rust: each event a message of its own (its envelope's id, attributes but the envelope's markers, publish
        time; its line as ``event_index``); an envelope that cannot be opened stays one message that decoding
        rejects with the reason. Without envelopes (or opened already), these same messages, uncopied."""
        native = self._native.opened(max_bytes=limits.max_bytes, max_events=limits.max_events)
        return self if native is None else Messages(native)

    def __len__(self) -> int:
        return len(self._native)

    def by_route(
        self, *, attribute: str | None = None, field: str | None = None, time_format: str | None = None
    ) -> list[RouteGroup]:
        """The messages grouped by an ``attribute``'s value or a ``field``'s (a dotted path to a string, number or
        boolean; with ``time_format``, a TIMESTAMP's value formatted in UTC: ``%Y %m %d %H %M %S %%``), read in Rust
        without decoding the events, in the order the keys first appear; each group shares these messages'
        buffers."""
        groups = self._native.group_by_route(attribute=attribute, field=field, time_format=time_format)
        return [RouteGroup(key.decode(errors="replace") if key is not None else None, kind == 2, Messages(native),
                           memoryview(positions).cast("I"))
                for kind, key, native, positions in groups]  # fmt: skip

    @property
    def data_bytes(self) -> int:
        """Total bytes of message data, as received."""
        return self._native.data_bytes

    @property
    def contents(self) -> tuple[int, int]:
        """What these messages hold once their envelopes are opened, read from their attributes and zstd frame
        headers without opening them: ``(events, bytes)`` — an envelope counts its ``event-count`` (1 without one)
        and its decompressed size (its data's size when the frame does not state it). What the batch limits
        ``max_rows`` and ``max_bytes`` count."""
        return self._native.contents

    @property
    def billed_bytes(self) -> int:
        """Bytes Pub/Sub bills for these messages (before its 1,000-byte minimum per request): each one's data,
        attribute keys and values, 20 bytes of timestamp and message id."""
        return self._native.billed_bytes

    @property
    def size_bytes(self) -> int:
        """Total bytes of the messages as received — data, attributes, ids (what flow control counts)."""
        return self._native.size_bytes

    def message(self, i: int) -> Message:
        """The ``i``-th message as Python objects."""
        data, attributes, message_id, publish_us, ordering_key, attempt = self._native.message(i)
        published = datetime.fromtimestamp(publish_us / 1e6, timezone.utc) if publish_us else None
        return Message(data, attributes, message_id, published, ordering_key, attempt)

    def dead_letters(
        self,
        reasons: Sequence[tuple[int, str, str, str]],
        *,
        source: str,
        schema_fingerprint: str,
        rejected_at: datetime,
    ) -> pa.RecordBatch:
        """The dead-letter records of ``reasons`` — ``(index, code, path, message)``, each naming one of these
        messages by its index: every metadata column, ``data``, then the reason columns
        (:mod:`streamlake_fast.sinks.deadletter.record` names them)."""
        at_us = (rejected_at - _EPOCH) // timedelta(microseconds=1)
        return pa.record_batch(self._native.dead_letters(list(reasons), source, schema_fingerprint, at_us))

    def __repr__(self) -> str:
        return f"<Messages: {len(self)} messages, {self.data_bytes:,} bytes>"
