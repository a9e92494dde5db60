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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from streamlake_fast.codec.codec import Codec, Reject
from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.codec.schema import Schema
from streamlake_fast.codec.transform import Transform
from streamlake_fast.cost.prices import Prices, load_prices
from streamlake_fast.cost.usage import TIB, Cost, Usage
from streamlake_fast.exceptions import ConfigError, PublishError
from streamlake_fast.transports.gcp.wire import Preparation, Prepared, prepare_publish
from streamlake_fast.transports.names import check_topic
from streamlake_fast.transports.retry import Retry
from streamlake_fast.transports.sending import Sender, Sent, send_all

if TYPE_CHECKING:  # each transport's sender is imported when it is used: a queue needs no gcp extra, a topic no aws
    import grpc

__all__ = ["BodyResult", "PublishError", "PublishResult", "Publisher", "ndjson_chunks"]

#: A plain message's billed bytes beyond its data: 20 of timestamp and a message id of about 16 digits.
PLAIN_OVERHEAD = 36


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
    failure: PublishError | None = None  # the publish failed: on Pub/Sub nothing of the body was published
    queued_before_failure: int = 0  # on SQS, events of a failed body sent in its other calls (a retry repeats them)


class Publisher:
    """Publish raw JSON events to a Pub/Sub topic (``projects/P/topics/T``) or an SQS queue (``queue=URL``).

    :param schema: the events' schema; required when validating or enriching.
    :param validate: refuse events the codec rejects (``False``: publish them as they are).
    :param enrich: add ``event_id`` / ``ingest_time`` to events lacking them (when the schema has those fields).
    :param max_in_flight: ``Publish`` requests in flight at once.
    :param retry: how transient ``Publish`` / ``SendMessageBatch`` failures are retried (a server answering HTTP
        wants a short deadline); default: each service's own policy.
    :param transform: rename, drop, default, hash or redact fields before validation (checked against the
        schema here); its ``derive`` chooses the derived fields.
    :param envelope: seal the valid events into zstd envelopes (:mod:`streamlake_fast.codec.envelope`): many events
        per message, each hop billing and acknowledging one message for them.
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
        retry: Retry | None = None,
        transform: Transform | None = None,
        envelope: Envelope | None = None,
    ) -> None:
        if (validate or enrich or transform) and schema is None:
            raise ConfigError("a schema is needed to validate, enrich or transform events")
        if (topic is None) == (queue is None):
            raise ConfigError("give either a topic or a queue")
        self.topic = check_topic(topic) if topic is not None else None
        self.queue = queue
        self._codec = Codec(schema) if validate and schema is not None else None
        derived: set[str] = set()  # enrich=False derives nothing, unless the transform names what to derive
        if schema is not None:
            if transform is not None:
                transform.check(schema)
            if enrich or (transform is not None and transform.derive is not None):
                derived = (transform or Transform()).derived(schema)
        self._event_id = "event_id" in derived
        self._ingest_time = "ingest_time" in derived
        self._transform = transform.compile() if transform is not None else None
        self.envelope = envelope
        self._prefix = secrets.token_hex(8)
        self._seq = 0
        self._prepare_lock = threading.Lock()
        self._sender: Sender
        if topic is not None:
            from streamlake_fast.transports.gcp.sender import PUBLISH_RETRY, RequestSender

            self._sender = RequestSender(topic, max_in_flight=max_in_flight, timeout=timeout, channel=channel,
                                         retry=retry or PUBLISH_RETRY)  # fmt: skip
        else:
            assert queue is not None
            from streamlake_fast.transports.aws.client import SQS_RETRY
            from streamlake_fast.transports.aws.sender import QueueSender

            self._sender = QueueSender(queue, max_in_flight=max_in_flight, timeout=timeout, retry=retry or SQS_RETRY)
        self.usage = Usage()  # what Pub/Sub or SQS bills for what was sent (streamlake_fast.cost)
        self.published = 0  # events
        self.messages = 0  # messages sent (fewer than the events when they are envelopes)
        self.refused = 0

    def publish(self, data: bytes | Sequence[bytes]) -> PublishResult:
        """Publish NDJSON ``bytes`` (reject indexes are line numbers) or a sequence of events (safe from several
        threads at once; event ids stay unique); returns once every
        valid event is acknowledged by Pub/Sub or SQS (raises :class:`PublishError` otherwise). Events SQS refuses
        come back as rejects (``refused_by_sink``) with their line."""
        start = time.perf_counter()
        with self._prepare_lock:  # event ids are numbered in order: one preparation at a time
            p = prepare_publish(self._preparation(), self._seq, events=data)
            self._seq = p.next_seq
        requests, counts, rejects = p.requests, p.counts, p.outcomes[0].rejects
        try:
            sent = send_all(self._sender, requests, counts)
        except PublishError as e:
            self.published += e.published
            raise
        published = sum(p.events)
        if sent.refused:  # SQS refuses entry by entry (Pub/Sub publishes a request whole or not at all)
            refused = [Reject(index, "refused_by_sink", "", why)
                       for i, why in sent.refused for _, index in p.entries[i]]  # fmt: skip
            published -= len(refused)
            rejects = sorted([*rejects, *refused], key=lambda r: r.index)
        self._count_usage(p, range(len(p.requests)), published, data)
        self.refused += len(rejects)
        self.published += published
        self.messages += sent.accepted
        return PublishResult(published, rejects, time.perf_counter() - start)

    def publish_bodies(self, bodies: Sequence[tuple[bytes, int, bool]], *, max_events: int = 1000) -> list[BodyResult]:
        """Publish several HTTP bodies (``(body, kind, atomic)``: kind ``pubsub_wire.JSON_BODY`` — one event or a
        JSON array — or ``NDJSON_BODY``) with one native call and as few ``Publish`` (or ``SendMessageBatch``)
        calls as they fit in. On Pub/Sub each body's events go in one ``Publish`` call, so each is published whole
        or not at all; on SQS, a body of up to ten events goes in one call, a longer one in several. An ``atomic``
        body with a refused event, or of more than ``max_events``, publishes nothing. Returns once every request
        was acknowledged or failed."""
        with self._prepare_lock:
            p = prepare_publish(self._preparation(), self._seq, bodies=bodies, max_events=max_events)
            self._seq = p.next_seq
        sent = self._sender.send_each(p.requests, p.counts) if p.requests else []
        refused: dict[int, list[Reject]] = {}
        for outcome in sent:
            if isinstance(outcome, Sent):
                self.messages += outcome.accepted
                for entry, why in outcome.refused:
                    for body, index in p.entries[entry]:
                        refused.setdefault(body, []).append(Reject(index, "refused_by_sink", "", why))
        queued = _queued_before_failure(p.entries, p.counts, sent) if p.entries else {}
        results = []
        for b, o in enumerate(p.outcomes):
            failure = next((r for i in o.requests if isinstance(r := sent[i], PublishError)), None)
            rejects = sorted([*o.rejects, *refused.get(b, [])], key=lambda r: r.index)
            accepted = o.events - len(rejects) if o.requests and failure is None else 0
            partial = queued.get(b, 0) if failure is not None else 0
            results.append(BodyResult(o.events, accepted, rejects, o.error, failure, partial))
            self.published += accepted
            self.refused += len(rejects)
        sent_ok = [i for i, outcome in enumerate(sent) if isinstance(outcome, Sent)]
        published_bodies = [body for (body, _, _), r in zip(bodies, results, strict=True) if r.accepted]
        self._count_usage(p, sent_ok, sum(r.accepted for r in results), published_bodies)
        return results

    def _count_usage(self, p: Prepared, sent: Iterable[int], events: int, data: object = None) -> None:
        """What the service bills for the requests at ``sent`` of ``p`` holding ``events`` published, and what the
        same events would bill as plain messages (``data``: the events — or the HTTP bodies holding them — to count
        their bytes)."""
        usage = self.usage
        usage.events += events
        for i in sent:
            if p.billed:
                usage.request(p.billed[i])
            else:
                usage.sent_sqs(len(p.requests[i]))
        if isinstance(data, (bytes, bytearray)):
            usage.plain_bytes += len(data) + events * PLAIN_OVERHEAD
        elif isinstance(data, Sequence):
            usage.plain_bytes += sum(map(len, data)) + events * PLAIN_OVERHEAD

    def cost(self, prices: Prices | None = None) -> Cost:
        """What publishing has cost so far (``managed``: the same events published as plain messages)."""
        prices = prices or load_prices()
        cost = self.usage.cost(prices, export_subscriptions=0)
        if self.topic is not None:
            cost.managed = self.usage.plain_bytes / TIB * prices.pubsub_per_tib
        return cost

    def _preparation(self) -> Preparation:
        """Where to, the codec, what to derive (call under the lock: the ingest time is now)."""
        ingest = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if self._ingest_time else None
        return Preparation(self.topic, self.queue, self._codec, self._prefix if self._event_id else None, ingest,
                           self._transform, self.envelope)  # fmt: skip

    def close(self) -> None:
        self._sender.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _queued_before_failure(entries: list[list[tuple[int, int]]], counts: list[int],
                           sent: Sequence[object]) -> dict[int, int]:  # fmt: skip
    """On SQS, for each body: its events in the calls that succeeded (looked at only when a call failed)."""
    if not any(isinstance(r, PublishError) for r in sent):
        return {}
    queued: dict[int, int] = {}
    start = 0
    for count, outcome in zip(counts, sent, strict=True):
        if not isinstance(outcome, PublishError):
            for entry in entries[start : start + count]:
                for body, _ in entry:
                    queued[body] = queued.get(body, 0) + 1
        start += count
    return queued


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
