"""The edge processor's publisher: raw events → validated, enriched → Pub/Sub or SQS, one native call per batch.

Each batch is validated with the same codec the worker uses; invalid events are refused with their path and reason
and never leave. Events lacking them get ``event_id`` (the publisher's random 64-bit id + a sequence number, 32 hex
digits) and ``ingest_time`` (now, UTC) — only when the schema declares those fields. The valid events are packed
in Rust into ``Publish`` requests (≤ 1,000 messages, < 10 MB) or SQS ``SendMessageBatch`` calls (≤ 10 messages,
1 MB) and sent with several requests in flight.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import grpc

from streamlake_fast.codec import Codec, Reject
from streamlake_fast.exceptions import ConfigError, PublishError
from streamlake_fast.names import check_topic
from streamlake_fast.pubsub_publish import PUBLISH_RETRY, RequestSender
from streamlake_fast.pubsub_wire import prepare_publish, prepare_publish_bodies
from streamlake_fast.retry import Retry
from streamlake_fast.schema import Schema
from streamlake_fast.sqs_publish import QueueSender

__all__ = ["BodyResult", "PublishError", "PublishResult", "Publisher", "ndjson_chunks"]


@dataclass
class PublishResult:
    """What one :meth:`Publisher.publish` call did."""

    published: int = 0
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0

    def __iadd__(self, other: PublishResult) -> PublishResult:
        self.published += other.published
        self.rejects.extend(other.rejects)
        self.seconds += other.seconds
        return self


@dataclass
class BodyResult:
    """What became of one HTTP body given to :meth:`Publisher.publish_bodies`."""

    events: int  # events in the body
    accepted: int  # published (acknowledged by Pub/Sub)
    rejects: list[Reject]  # index: the position in the array, or the NDJSON line
    error: tuple[int, str] | None = None  # (HTTP status, why): the body could not be read; nothing published
    failure: PublishError | None = None  # the publish failed: nothing of the body published


class Publisher:
    """Publish raw JSON events to a Pub/Sub topic (``projects/P/topics/T``) or an SQS queue (``queue=URL``).

    :param schema: the events' schema; required when validating or enriching.
    :param validate: refuse events the codec rejects (``False``: publish them as they are).
    :param enrich: add ``event_id`` / ``ingest_time`` to events lacking them (when the schema has those fields).
    :param max_in_flight: ``Publish`` requests in flight at once.
    :param retry: how transient ``Publish`` failures are retried (a server answering HTTP wants a short deadline).
    """

    def __init__(
        self,
        topic: str | None = None,
        schema: Schema | None = None,
        *,
        queue: str | None = None,
        validate: bool = True,
        enrich: bool = True,
        max_in_flight: int = 4,
        timeout: float = 60.0,
        channel: grpc.Channel | None = None,
        retry: Retry = PUBLISH_RETRY,
    ) -> None:
        if (validate or enrich) and schema is None:
            raise ConfigError("a schema is needed to validate or enrich events")
        if (topic is None) == (queue is None):
            raise ConfigError("give either a topic or a queue")
        self.topic = check_topic(topic) if topic is not None else None
        self.queue = queue
        self._codec = Codec(schema) if validate and schema is not None else None
        names = {f["name"]: f["type"] for f in schema.to_bigquery()} if schema is not None else {}
        self._event_id = enrich and names.get("event_id") == "STRING"
        self._ingest_time = enrich and names.get("ingest_time") == "TIMESTAMP"
        self._prefix = secrets.token_hex(8)
        self._seq = 0
        self._prepare_lock = threading.Lock()
        self._sender: RequestSender | None = None
        self._queue_sender: QueueSender | None = None
        if topic is not None:
            self._sender = RequestSender(topic, max_in_flight=max_in_flight, timeout=timeout, channel=channel,
                                         retry=retry)  # fmt: skip
        else:
            assert queue is not None
            self._queue_sender = QueueSender(queue, max_in_flight=max_in_flight)
        self.published = 0
        self.refused = 0

    def publish(self, data: bytes | Sequence[bytes]) -> PublishResult:
        """Publish NDJSON ``bytes`` (reject indexes are line numbers) or a sequence of events (safe from several
        threads at once; event ids stay unique); returns once every
        valid event is acknowledged by Pub/Sub or SQS (raises :class:`PublishError` otherwise). Events SQS refuses
        come back as rejects (``refused_by_sink``) with their line."""
        start = time.perf_counter()
        ingest = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if self._ingest_time else None
        with self._prepare_lock:  # event ids are numbered in order: one preparation at a time
            requests, counts, rejects, self._seq, valid = prepare_publish(
                data,
                self.topic,
                queue_url=self.queue,
                codec=self._codec,
                event_id_prefix=self._prefix if self._event_id else None,
                next_seq=self._seq,
                ingest_time=ingest,
            )
        try:
            if self._sender is not None:
                published = self._sender.send_all(requests, counts)
            else:
                assert self._queue_sender is not None
                published, refused = self._queue_sender.send_all(requests, counts, valid)
                rejects = sorted([*rejects, *refused], key=lambda r: r.index)
        except PublishError as e:
            self.published += e.published
            raise
        self.refused += len(rejects)
        self.published += published
        return PublishResult(published, rejects, time.perf_counter() - start)

    def publish_bodies(self, bodies: Sequence[tuple[bytes, int, bool]], *, max_events: int = 1000) -> list[BodyResult]:
        """Publish several HTTP bodies (``(body, kind, atomic)``: kind ``pubsub_wire.JSON_BODY`` — one event or a
        JSON array — or ``NDJSON_BODY``) with one native call and as few ``Publish`` calls as they fit in. Each
        body's events go in one ``Publish`` call, so each is published whole or not at all; an ``atomic`` body
        with a refused event, or of more than ``max_events``, publishes nothing. Returns once every request was
        acknowledged or failed."""
        if self._sender is None or self.topic is None:
            raise ConfigError("HTTP bodies are published to a Pub/Sub topic")
        ingest = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if self._ingest_time else None
        with self._prepare_lock:
            requests, counts, outcomes, self._seq = prepare_publish_bodies(
                bodies,
                self.topic,
                codec=self._codec,
                event_id_prefix=self._prefix if self._event_id else None,
                next_seq=self._seq,
                ingest_time=ingest,
                max_events=max_events,
            )
        sent = self._sender.send_each(requests, counts) if requests else []
        results = []
        for o in outcomes:
            failure = next((r for i in o.requests if isinstance(r := sent[i], PublishError)), None)
            accepted = o.events - len(o.rejects) if o.requests and failure is None else 0
            results.append(BodyResult(o.events, accepted, o.rejects, o.error, failure))
            self.published += accepted
            self.refused += len(o.rejects)
        return results

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
        if self._queue_sender is not None:
            self._queue_sender.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ndjson_chunks(path: str | Path, chunk_bytes: int = 4 << 20) -> Iterator[tuple[int, bytes]]:
    """``(first line number, bytes)`` chunks of an NDJSON file, each ending at a line boundary."""
    line = 0
    rest = b""
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            buf = rest + block
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                rest = buf
                continue
            yield line, buf[:cut]
            line += buf.count(b"\n", 0, cut)
            rest = buf[cut:]
    if rest:
        yield line, rest
