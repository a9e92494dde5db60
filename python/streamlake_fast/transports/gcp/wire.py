"""Pub/Sub's and BigQuery Storage Write's wire messages, built and read in Rust: BigQuery append requests, pull
requests, publish requests (validated and enriched events; the same preparation packs SQS ``SendMessageBatch`` bodies
for the publisher on SQS), publish responses. The calls themselves are made by the callers with raw bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from streamlake_fast import _native
from streamlake_fast.codec.codec import Codec, Reject
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.transform import CompiledTransform

__all__ = [
    "JSON_BODY",
    "NDJSON_BODY",
    "BodyOutcome",
    "PreparedBodies",
    "PreparedPublish",
    "ack_ids",
    "acknowledge_requests",
    "append_rows_request",
    "modify_deadline_requests",
    "prepare_publish",
    "prepare_publish_bodies",
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


#: (requests, events per request, rejects, next sequence number, the input index of each valid event in order).
PreparedPublish = tuple[list[bytes], list[int], list[Reject], int, list[int]]


def prepare_publish(
    data: bytes | Sequence[bytes],
    topic: str | None = None,
    *,
    queue_url: str | None = None,
    codec: Codec | None,
    event_id_prefix: str | None,
    next_seq: int,
    ingest_time: str | None,
    transform: CompiledTransform | None = None,
) -> PreparedPublish:
    """The valid events (``codec`` validates; ``None`` publishes as is), with ``event_id`` / ``ingest_time`` added
    where asked and absent, as serialized ``PublishRequest`` s for ``topic`` or ``SendMessageBatch`` bodies for
    ``queue_url`` (ten events and 1 MB each; events that are not UTF-8 text are refused: SQS carries text)."""
    requests, counts, raw_rejects, seq, valid = _native.prepare_publish(
        data,
        topic,
        queue_url=queue_url,
        codec=codec._native if codec is not None else None,
        event_id_prefix=event_id_prefix,
        next_seq=next_seq,
        ingest_time=ingest_time,
        transform=transform._native if transform is not None else None,
    )
    return requests, counts, [Reject(*r) for r in raw_rejects], seq, valid


@dataclass(frozen=True, slots=True)
class BodyOutcome:
    """What :func:`prepare_publish_bodies` made of one HTTP body."""

    events: int  # events found in the body
    rejects: list[Reject]  # index: the position in the array, or the NDJSON line
    error: tuple[int, str] | None  # (HTTP status, why) when nothing of the body is published
    requests: range  # the requests holding its valid events (one for a body within one request's limits)


@dataclass(frozen=True, slots=True)
class PreparedBodies:
    """What :func:`prepare_publish_bodies` made of several HTTP bodies."""

    requests: list[bytes]
    counts: list[int]  # events in each request
    outcomes: list[BodyOutcome]
    next_seq: int
    entries: list[tuple[int, int]]  # a queue's: (body, index in the body) of each SendMessageBatch entry id


def prepare_publish_bodies(
    bodies: Sequence[tuple[bytes, int, bool]],
    topic: str | None = None,
    *,
    queue_url: str | None = None,
    codec: Codec | None,
    event_id_prefix: str | None,
    next_seq: int,
    ingest_time: str | None,
    max_events: int,
    transform: CompiledTransform | None = None,
) -> PreparedBodies:
    """Validate, transform, enrich and pack several HTTP bodies (``(body, kind, atomic)``; kind :data:`JSON_BODY`
    or :data:`NDJSON_BODY`) in one native call into ``PublishRequest`` s for ``topic`` (each body's events in one
    request) or ``SendMessageBatch`` bodies for ``queue_url`` (a body of up to ten events in one request)."""
    requests, counts, raw, seq, entries = _native.prepare_publish_bodies(
        list(bodies),
        topic,
        queue_url=queue_url,
        codec=codec._native if codec is not None else None,
        event_id_prefix=event_id_prefix,
        next_seq=next_seq,
        ingest_time=ingest_time,
        max_events=max_events,
        transform=transform._native if transform is not None else None,
    )
    outcomes = [BodyOutcome(n, [Reject(*r) for r in rejects], error, range(first, end))
                for n, rejects, error, first, end in raw]  # fmt: skip
    return PreparedBodies(requests, counts, outcomes, seq, entries)


#: Body kinds for :func:`prepare_publish_bodies`: one JSON value or a JSON array of them; NDJSON.
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
