"""Pub/Sub's and BigQuery Storage Write's wire messages, built and read in Rust: BigQuery append requests, pull
requests, publish requests (validated and enriched events; the same preparation packs SQS ``SendMessageBatch`` bodies
for the publisher on SQS), publish responses. The calls themselves are made by the callers with raw bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from streamlake_fast import _native
from streamlake_fast.codec.codec import Codec, Reject
from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.transform import CompiledTransform

__all__ = [
    "JSON_BODY",
    "NDJSON_BODY",
    "BodyOutcome",
    "Preparation",
    "Prepared",
    "ack_ids",
    "acknowledge_requests",
    "append_rows_request",
    "modify_deadline_requests",
    "prepare_publish",
    "publish_requests",
    "publish_response_ids",
    "pull_request",
]


def append_rows_request(write_stream: str, offset: int | None, schema: bytes, rows: int, batch: pa.Buffer) -> bytes:
    """A serialized BigQuery ``AppendRowsRequest`` of ``rows`` rows: ``batch`` is their serialized Arrow record
    batch (``RecordBatch.serialize()``), ``schema`` its serialized schema, ``offset`` a committed stream's. One join
    copies the batch into the request, which gRPC sends as it is — no protobuf object holds it on the way."""
    head = _native.append_rows_head(write_stream, offset, schema, rows, batch.size)
    return b"".join((head, batch))


def pull_request(subscription: str, max_messages: int) -> bytes:
    """A serialized ``PullRequest``."""
    return _native.pull_request(subscription, max_messages)


def publish_requests(topic: str, messages: list[tuple[bytes, list[tuple[str, str]]]]) -> tuple[list[bytes], list[int]]:
    """Serialized ``PublishRequest`` s of ``(data, attributes)`` messages, each within Pub/Sub's limits, and the
    messages in each."""
    return _native.publish_requests(topic, messages)


def publish_response_ids(response: bytes) -> int:
    """How many message ids a serialized ``PublishResponse`` holds."""
    return _native.publish_response_ids(response)


@dataclass(frozen=True, slots=True)
class Preparation:
    """Where prepared events go and what is done to them on the way: a ``topic`` (``PublishRequest`` s) or a
    ``queue_url`` (``SendMessageBatch`` bodies), the ``codec`` that validates (``None``: published as they are),
    the ``event_id`` prefix and ``ingest_time`` to add where absent (``None``: not added), and the transform."""

    topic: str | None = None
    queue_url: str | None = None
    codec: Codec | None = None
    event_id_prefix: str | None = None
    ingest_time: str | None = None
    transform: CompiledTransform | None = None
    envelope: Envelope | None = None


@dataclass(frozen=True, slots=True)
class BodyOutcome:
    """What :func:`prepare_publish` made of one body (a publisher's batch is one body)."""

    events: int  # events found in the body
    rejects: list[Reject]  # index: the position in the batch or the array, or the NDJSON line
    error: tuple[int, str] | None  # (HTTP status, why) when nothing of the body is published
    requests: range  # the requests holding its valid events (one for an HTTP body within one request's limits)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :func:`prepare_publish` made of its bodies."""

    requests: list[bytes]
    counts: list[int]  # messages in each request
    events: list[int]  # events in each request (more than its messages when they are envelopes)
    outcomes: list[BodyOutcome]
    next_seq: int
    entries: list[list[tuple[int, int]]]  # a queue's: (body, index in the body) of the events of each entry id
    billed: list[int]  # a topic's: the bytes Pub/Sub bills for each request (before its 1,000-byte minimum)


def prepare_publish(
    how: Preparation,
    next_seq: int,
    *,
    events: bytes | Sequence[bytes] | None = None,
    bodies: Sequence[tuple[bytes, int, bool]] | None = None,
    max_events: int = 1000,
) -> Prepared:
    """The one publish preparation, in one native call: validate, transform, enrich and pack either ``events`` — a
    publisher's batch, NDJSON ``bytes`` (indices are line numbers) or one event per item, which fill requests as
    they come — or HTTP ``bodies`` (``(body, kind, atomic)``; kind :data:`JSON_BODY` or :data:`NDJSON_BODY`; each
    body's events in one request, a body of more than ``max_events`` refused whole); event ids numbered from
    ``next_seq``. For a queue, a body of up to ten events goes in one request, and events that are not UTF-8 text
    are refused (SQS carries text). With ``how.envelope``, the valid events are sealed into zstd envelopes."""
    envelope = how.envelope
    requests, counts, events_in, raw, seq, entries, billed = _native.prepare_publish(
        how.topic,
        bodies=list(bodies) if bodies is not None else None,
        events=events,
        queue_url=how.queue_url,
        codec=how.codec._native if how.codec is not None else None,
        event_id_prefix=how.event_id_prefix,
        next_seq=next_seq,
        ingest_time=how.ingest_time,
        max_events=max_events,
        transform=how.transform._native if how.transform is not None else None,
        envelope_bytes=envelope.max_bytes if envelope is not None else None,
        envelope_events=envelope.max_events if envelope is not None else 10_000,
        envelope_level=envelope.level if envelope is not None else 3,
        envelope_dictionary=envelope.dictionary.id if envelope is not None and envelope.dictionary else None,
    )
    outcomes = [BodyOutcome(n, [Reject(*r) for r in rejects], error, range(first, end))
                for n, rejects, error, first, end in raw]  # fmt: skip
    return Prepared(requests, counts, events_in, outcomes, seq, entries, billed)


#: Body kinds for :func:`prepare_publish`: one JSON value or a JSON array of them; NDJSON.
JSON_BODY, NDJSON_BODY = 0, 1


def acknowledge_requests(messages: Messages, subscription: str, indices: list[int] | None = None) -> list[bytes]:
    """Serialized ``AcknowledgeRequest`` s for every message, or those at ``indices`` (each under Pub/Sub's request
    size limit)."""
    return messages._native.acknowledge_requests(subscription, indices)


def ack_ids(messages: Messages) -> list[str]:
    """Each message's ack id (off the hot path: to read an exactly-once subscription's per-ack-id results)."""
    return messages._native.ack_ids()


def modify_deadline_requests(messages: Messages, subscription: str, seconds: int) -> list[bytes]:
    """Serialized ``ModifyAckDeadlineRequest`` s (0 seconds: hand the messages back for redelivery now)."""
    return messages._native.modify_ack_deadline_requests(subscription, seconds)
