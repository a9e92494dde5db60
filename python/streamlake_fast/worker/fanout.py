"""The fan-out writer: one decode per batch, then each sink gets the columns it asked for and the dead-letter
destination gets the rejects — every destination written once per batch, retried while the failure is transient.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

import pyarrow as pa

from streamlake_fast.codec.codec import Codec, DecodeResult, Reject
from streamlake_fast.codec.messages import METADATA_SCHEMA, Messages
from streamlake_fast.codec.schema import Schema
from streamlake_fast.cost.usage import Usage
from streamlake_fast.destinations.schema_watch import SchemaWatch
from streamlake_fast.destinations.schemas import split_metadata
from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.sinks.base import Abortable, FollowsSchema, Refusal, Sink, select_columns
from streamlake_fast.sinks.deadletter.record import dead_letter_records
from streamlake_fast.transports.retry import Retry

__all__ = ["FanOut", "make_durable"]

log = logging.getLogger(__name__)

#: Sink writes, flushes and dead letters: retried until they succeed or the worker aborts.
SINK_RETRY = Retry(initial=0.5, maximum=30.0)


class FanOut:
    """Write each batch of ``messages`` to every sink in ``sinks`` and its rejects to ``dead_letter``.

    :param source: the source's name (the ``subscription_name`` metadata column and dead-letter field).
    :param abort: when set, transient failures are no longer retried.
    :param on_retry: called on each retry (for the retry counter).
    :param schema_watch: follows the table's schema: a widened one recompiles the codec, widens the sinks and
        decodes the batch again, so events that now fit are written instead of dead-lettered.
    :param usage: where the bytes handed to billed sinks and the files written are counted (the worker's).
    """

    def __init__(
        self,
        codec: Codec,
        sinks: Sequence[Sink],
        dead_letter: Sink,
        *,
        source: str,
        abort: threading.Event,
        on_retry: Callable[[BaseException], None] | None = None,
        retry: Retry = SINK_RETRY,
        schema_watch: SchemaWatch | None = None,
        usage: Usage | None = None,
    ) -> None:
        self.codec = codec
        self.usage = usage if usage is not None else Usage()  # what the services bill (the worker's, shared)
        self.schema_watch = schema_watch
        self.sinks = list(sinks)
        self.dead_letter = dead_letter
        self.source = source
        self._abort = abort
        self._on_retry = on_retry
        self._retry = retry
        events = codec.schema.to_arrow().names
        wanted = {n for s in self.sinks if s.schema is not None for n in s.schema.names}
        for sink in self.sinks:
            missing = [n for n in (sink.schema.names if sink.schema else ()) if n not in events
                       and n not in METADATA_SCHEMA.names]  # fmt: skip
            if missing:
                raise ConfigError(f"{sink.name} wants columns the events and metadata do not have: {missing}")
        #: Metadata columns decoded beside the events (those some sink wants and the events lack).
        self.metadata = [n for n in METADATA_SCHEMA.names if n in wanted and n not in events]
        self._events = events
        self._fingerprint = codec.schema.fingerprint
        for destination in self.destinations:  # those that send with retries of their own stop on the worker's stop
            if isinstance(destination, Abortable):
                destination.abort_on(abort)
        self.decode_cpu = 0.0
        self.written = 0  # batches written to every destination

    @property
    def destinations(self) -> list[Sink]:
        """Every sink and the dead-letter destination: what a message's acknowledgement waits for."""
        return [*self.sinks, self.dead_letter]

    def write(self, messages: Messages) -> DecodeResult:
        """Decode once and write everywhere; raises :class:`~streamlake_fast.exceptions.SinkError` when a
        destination fails for good (or a transient failure outlasts an abort). The result's rejects include the
        rows a sink refused (dead-lettered too, with the sink's reason). Envelopes are opened first (the
        result's indices are those of the opened messages: an envelope's events each have one)."""
        messages = messages.opened()
        watch = self.schema_watch
        self.follow_timer()
        result = self._decode(messages)
        if (
            watch is not None
            and result.rejects
            and self._follow(watch.on_rejects(messages, result.rejects, self._abort))
        ):
            result = self._decode(messages)  # the rejects that fit the wider schema become rows
        refused: list[Refusal] = []
        for sink in self.sinks:
            rows = self._columns(result.batch, sink.schema)
            self.usage.wrote(sink.name, rows.nbytes)
            sink_refused = self._retry.call(partial(sink.write, rows), what=sink.name, abort=self._abort,
                                            on_retry=self._on_retry)  # fmt: skip
            refused.extend(sink_refused or ())
        rejects = result.rejects
        if refused:
            rejects = sorted([*rejects, *self._as_rejects(refused, rejects, len(messages))], key=lambda r: r.index)
        dead = dead_letter_records(messages, rejects, source=self.source, schema_fingerprint=self._fingerprint)
        if self._retry.call(partial(self.dead_letter.write, dead), what=self.dead_letter.name, abort=self._abort,
                            on_retry=self._on_retry):  # fmt: skip
            raise SinkError(f"{self.dead_letter.name} refused dead letters")
        self.written += 1
        return DecodeResult(result.batch, rejects)

    def follow_timer(self) -> None:
        """The schema watch's timed look, when due (the worker calls it while idle too)."""
        watch = self.schema_watch
        if watch is not None and watch.timer_due():
            self._follow(watch.check())

    def _decode(self, messages: Messages) -> DecodeResult:
        cpu0 = time.thread_time()
        result = self.codec.decode(messages, metadata=self.metadata, source=self.source)
        self.decode_cpu += time.thread_time() - cpu0
        return result

    def _follow(self, table: Schema | None) -> bool:
        """Adopt the table's widened schema ``table`` (None: unchanged): a new codec, the sinks' new columns."""
        if table is None:
            return False
        events, _ = split_metadata(table)
        self.codec = self.codec.with_schema(events)
        self._events = events.to_arrow().names
        self._fingerprint = events.fingerprint
        for sink in self.sinks:
            if isinstance(sink, FollowsSchema):
                sink.follow_schema(events.to_arrow(), table.to_arrow())
        return True

    @staticmethod
    def _as_rejects(refused: list[Refusal], rejects: list[Reject], n: int) -> list[Reject]:
        """Sink refusals (row indices among the valid rows) as rejects of their messages, one per message (the
        reasons of several sinks refusing the same row joined)."""
        rejected = {r.index for r in rejects}
        accepted = [i for i in range(n) if i not in rejected]
        by_message: dict[int, list[Refusal]] = {}
        for r in refused:
            by_message.setdefault(accepted[r.row], []).append(r)
        return [Reject(i, rs[0].code, "", "; ".join(r.message for r in rs)) for i, rs in by_message.items()]

    def _columns(self, batch: pa.RecordBatch, schema: pa.Schema | None) -> pa.RecordBatch:
        if schema is None:
            return batch.select(self._events) if self.metadata else batch
        return select_columns(batch, schema)

    def durable(self, force: bool = False) -> int:
        """Let every destination make due rows durable (everything, with ``force``); returns how many of the
        batches written are durable in all of them."""
        for sink in self.destinations:
            make_durable(sink, force and sink.durable_batches < self.written, self._retry, self._abort,
                         self._on_retry)  # fmt: skip
        return self.durable_now()

    def durable_now(self) -> int:
        """How many of the batches written are durable in every destination, asking nothing of them."""
        return min(s.durable_batches for s in self.destinations)

    def close(self) -> None:
        for sink in self.destinations:
            sink.close()
            self.usage.files(sink.name, getattr(sink, "files_written", 0))


def make_durable(
    sink: Sink,
    flush: bool,
    retry: Retry,
    abort: threading.Event,
    on_retry: Callable[[BaseException], None] | None,
) -> None:
    """Flush ``sink`` (retried; ``flush``: it holds rows that must be durable now), else let it make due rows
    durable; a transient failure of that is counted and left for the next round (the leases are kept alive)."""
    if flush:
        retry.call(sink.flush, what=sink.name, abort=abort, on_retry=on_retry)
        return
    try:
        sink.poll()
    except TransientSinkError as e:
        log.warning("%s: %s; will retry", sink.name, e)
        if on_retry is not None:
            on_retry(e)
