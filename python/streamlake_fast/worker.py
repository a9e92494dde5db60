"""The worker: pull → decode → write to every sink → dead-letter the rejects → acknowledge.

A message is acknowledged only after every sink (or the dead-letter destination, for a reject) has made it
durable. Sinks that buffer (the lake) report durability later; their batches wait, leases extended, until then —
one pull, any number of sinks, one ack. On a sink failure the batch is retried with backoff; when it cannot be
written every unacknowledged message is handed back (nacked) so Pub/Sub redelivers it. A crash loses nothing:
unacknowledged messages return.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TextIO

import pyarrow as pa

from streamlake_fast._native import PullBatch
from streamlake_fast.codec import Codec, Reject
from streamlake_fast.exceptions import SinkError, TransientSinkError
from streamlake_fast.metrics import MetricsExporter
from streamlake_fast.sinks.base import Sink, retry, retry_write
from streamlake_fast.sinks.deadletter import DeadLetter, rejected_messages
from streamlake_fast.sources.base import Source

__all__ = ["METADATA_COLUMNS", "Worker", "WorkerStats"]

log = logging.getLogger(__name__)

METADATA_COLUMNS = ("subscription_name", "message_id", "publish_time", "attributes")


@dataclass
class WorkerStats:
    """Counters of one run (also exported as Prometheus metrics when a port is given)."""

    events: int = 0
    rows: int = 0
    rejects: int = 0
    acked: int = 0
    batches: int = 0
    in_flight: int = 0
    awaiting_durable: int = 0
    sink_retries: int = 0
    decode_cpu: float = 0.0
    reject_codes: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)
    last_ack: float = 0.0  # perf_counter when the latest batch was acknowledged
    cpu_started: float = field(default_factory=time.process_time)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def busy(self) -> float:
        """Seconds from the start until the last acknowledgement (excludes waiting for more messages at the end)."""
        return (self.last_ack or time.perf_counter()) - self.started

    @property
    def cpu(self) -> float:
        return time.process_time() - self.cpu_started

    def line(self) -> str:
        rate = self.events / self.elapsed if self.elapsed > 0 else 0.0
        per_event = self.cpu / self.events * 1e6 if self.events else 0.0
        return (
            f"[worker] {self.events:,} events ({rate:,.0f}/s), {per_event:.1f} CPU µs/event, "
            f"{self.rejects:,} rejects, {self.in_flight + self.awaiting_durable:,} in flight, {self.acked:,} acked"
        )


@dataclass
class _Pending:
    """A written batch whose messages wait for every sink to make it durable."""

    seq: int
    parts: list[PullBatch]
    batch: PullBatch
    messages: int
    data_bytes: int


class Worker:
    """Drain ``source`` into ``sinks`` through ``codec``; each sink gets the columns its ``schema`` names.

    :param flush_at: when messages waiting for a buffering sink (the lake) fill this share of the source's flow
        control, the sinks are flushed so those messages can be acknowledged and pulling goes on.
    """

    def __init__(
        self,
        source: Source,
        sinks: list[Sink],
        codec: Codec,
        *,
        dead_letter: DeadLetter,
        max_rows: int = 50_000,
        max_bytes: int = 8_000_000,
        max_latency: float = 1.0,
        ack_deadline: int = 60,
        progress_interval: float = 5.0,
        exit_when_drained: bool = False,
        progress: TextIO | None = None,
        metrics_port: int | None = None,
        flush_at: float = 0.75,
    ) -> None:
        self.source = source
        self.sinks = sinks
        self.codec = codec
        self.dead_letter = dead_letter
        self.flush_at = flush_at
        self.max_rows, self.max_bytes, self.max_latency = max_rows, max_bytes, max_latency
        self.ack_deadline = ack_deadline
        self.progress_interval = progress_interval
        self.exit_when_drained = exit_when_drained
        self.stats = WorkerStats()
        self._progress = progress or sys.stderr
        self._stop = threading.Event()  # no more pulls; finish what is in flight
        self._abort = threading.Event()  # give up retrying; hand in-flight messages back
        self._done = threading.Event()  # the lease thread runs until everything pulled is released
        self._fingerprint = codec.schema.fingerprint
        self._pending: deque[_Pending] = deque()
        self._seq = 0  # batches written to the sinks so far
        self.metrics: MetricsExporter | None = None
        if metrics_port is not None:
            self.metrics = MetricsExporter(metrics_port)

    def stop(self) -> None:
        """Stop pulling, finish and acknowledge what is in flight, then return from :meth:`run`."""
        self._stop.set()

    def abort(self) -> None:
        """Stop retrying failed writes: in-flight messages are handed back for redelivery."""
        self._stop.set()
        self._abort.set()

    def run(self) -> WorkerStats:
        """Run until :meth:`stop` (or until the subscription is drained, with ``exit_when_drained``)."""
        lease = threading.Thread(target=self._extend_leases, name="lease", daemon=True)
        self.source.start()
        lease.start()
        last_report = time.perf_counter()
        try:
            try:
                while not self._stop.is_set():
                    parts = self._collect()
                    if parts:
                        self._process(parts)
                    elif self.exit_when_drained and self.source.drained():
                        break
                    self._settle(force=self._window_full())
                    if time.perf_counter() - last_report >= self.progress_interval:
                        last_report = time.perf_counter()
                        self._report()
                self._settle(force=True)  # before waiting for the pulls in flight to return
            finally:
                self.source.stop()
            # Finish what was pulled before the stop.
            while (batch := self.source.get(0)) is not None:
                self._process([batch])
            self._settle(force=True)
        finally:
            if self._pending:  # not durable in every sink: hand back for redelivery
                log.warning("%d messages not durable in every sink; handing them back", self.stats.awaiting_durable)
                self._nack_pending()
            self._stop.set()
            self._done.set()
            for sink in self.sinks:
                sink.close()
            self.dead_letter.close()
            self._report()
            if self.metrics is not None:
                self.metrics.close()
        return self.stats

    def _collect(self) -> list[PullBatch]:
        parts: list[PullBatch] = []
        rows = nbytes = 0
        deadline: float | None = None
        while True:
            timeout = 0.2 if deadline is None else max(0.0, deadline - time.perf_counter())
            batch = self.source.get(timeout)
            if batch is None:
                if not parts or time.perf_counter() >= (deadline or 0) or self._stop.is_set():
                    return parts
                continue
            if deadline is None:
                # Leave half the latency budget for decoding and writing.
                deadline = time.perf_counter() + self.max_latency / 2
            parts.append(batch)
            rows += len(batch)
            nbytes += batch.data_bytes
            if rows >= self.max_rows or nbytes >= self.max_bytes:
                return parts

    def _decode(self, batch: PullBatch) -> tuple[pa.RecordBatch, list[Reject]]:
        cpu0 = time.thread_time()
        raw, raw_rejects = batch.decode(self.codec._native)
        rows = pa.record_batch(raw)
        rejects = [Reject(*r) for r in raw_rejects]
        self.stats.decode_cpu += time.thread_time() - cpu0
        return rows, rejects

    def _sink_rows(self, rows: pa.RecordBatch, batch: PullBatch, rejects: list[Reject]) -> list[pa.RecordBatch]:
        """The rows each sink gets: the columns its ``schema`` names, from the events or the Pub/Sub metadata."""
        meta: pa.RecordBatch | None = None
        out = []
        for sink in self.sinks:
            schema = sink.schema
            if schema is None:
                out.append(rows)
                continue
            if meta is None and any(n in METADATA_COLUMNS and n not in rows.schema.names for n in schema.names):
                meta = pa.record_batch(batch.metadata(self.source.name, [r.index for r in rejects]))
            columns = [
                meta.column(n) if meta is not None and n in METADATA_COLUMNS and n not in rows.schema.names
                else rows.column(n)
                for n in schema.names
            ]  # fmt: skip
            out.append(pa.RecordBatch.from_arrays(columns, schema=schema))
        return out

    def _process(self, parts: list[PullBatch]) -> None:
        batch = parts[0] if len(parts) == 1 else PullBatch.concat(parts)
        n = len(batch)
        self.stats.in_flight += n
        try:
            rows, rejects = self._decode(batch)
            for sink, sink_rows in zip(self.sinks, self._sink_rows(rows, batch, rejects), strict=True):
                retry_write(sink, sink_rows, self._abort, on_wait=self._count_retry)
            if rejects:
                self._dead_letter(batch, rejects)
        except (SinkError, KeyboardInterrupt):
            log.error("batch of %d messages not written; handing it back for redelivery", n)
            self._nack(batch)
            for part in parts:
                self.source.release(part)
            raise
        finally:
            self.stats.in_flight -= n
        self._pending.append(_Pending(self._seq, parts, batch, n, batch.data_bytes))
        self._seq += 1
        self.stats.awaiting_durable += n
        self.stats.events += n
        self.stats.rows += rows.num_rows
        self.stats.rejects += len(rejects)
        self.stats.reject_codes.update(r.code for r in rejects)
        self.stats.batches += 1
        self._settle()

    def _settle(self, force: bool = False) -> None:
        """Let the sinks make due rows durable (all of them with ``force``), then acknowledge what every sink holds
        durably."""
        for sink in self.sinks:
            try:
                if force and sink.durable_batches < self._seq:
                    retry(sink.flush, sink.name, self._abort, on_wait=self._count_retry)
                else:
                    sink.poll()
            except TransientSinkError as e:  # poll again on the next round; the leases are kept alive meanwhile
                log.warning("%s: %s; will retry", sink.name, e)
                self._count_retry()
        durable = min((s.durable_batches for s in self.sinks), default=self._seq)
        while self._pending and self._pending[0].seq < durable:
            done = self._pending.popleft()
            try:
                self.source.ack(done.batch)
            finally:
                for part in done.parts:
                    self.source.release(part)
            self.stats.awaiting_durable -= done.messages
            self.stats.acked += done.messages
            self.stats.last_ack = time.perf_counter()
        if self.metrics is not None:
            self.metrics.update(self.stats)

    def _window_full(self) -> bool:
        """Messages awaiting a buffering sink hold flow control; past ``flush_at`` of it, flush to keep pulling."""
        messages = sum(p.messages for p in self._pending)
        nbytes = sum(p.data_bytes for p in self._pending)
        return (
            messages >= self.flush_at * self.source.max_outstanding_messages
            or nbytes >= self.flush_at * self.source.max_outstanding_bytes
        )

    def _nack_pending(self) -> None:
        while self._pending:
            p = self._pending.popleft()
            self._nack(p.batch)
            for part in p.parts:
                self.source.release(part)
            self.stats.awaiting_durable -= p.messages

    def _dead_letter(self, batch: PullBatch, rejects: list[Reject]) -> None:
        messages = rejected_messages(batch, rejects)
        delay = 0.5
        while True:
            try:
                self.dead_letter.write(messages, subscription=self.source.name, schema_fingerprint=self._fingerprint)
                return
            except TransientSinkError as e:
                if self._abort.is_set():
                    raise
                log.warning("dead-letter %s unavailable (%s); retrying in %.1fs", self.dead_letter.name, e, delay)
                self._abort.wait(delay)
                delay = min(delay * 2, 30.0)

    def _nack(self, batch: PullBatch) -> None:
        try:
            self.source.nack(batch)
        except Exception as e:  # the deadline lapses anyway; the messages still come back
            log.warning("nack failed (%s); the messages return when their ack deadline lapses", e)

    def _count_retry(self) -> None:
        self.stats.sink_retries += 1

    def _extend_leases(self) -> None:
        period = max(1.0, min(self.ack_deadline / 3, 10.0))
        while not self._done.wait(period):
            try:
                self.source.extend_all(self.ack_deadline)
            except Exception as e:  # a lapsed lease only means a redelivery, never a loss
                log.warning("could not extend ack deadlines: %s", e)

    def _report(self) -> None:
        if self.metrics is not None:
            self.metrics.update(self.stats)
        self._progress.write(self.stats.line() + "\n")
        self._progress.flush()
