"""The worker: batcher → fan-out writer → ack ledger, in one loop.

A message is acknowledged only after every destination — each sink and, for a reject, the dead-letter
destination — holds it durably. Sinks that buffer (the lake) report durability later; their messages wait, leases
kept alive by the source, until then: one receive, any number of sinks, one ack. When a destination fails for good
every unacknowledged message is handed back (nacked) for redelivery, and the worker stops. A crash loses nothing:
unacknowledged messages return. Whatever way :meth:`Worker.run` ends, every delivery it received is settled:
acknowledged (durable everywhere) or handed back.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from streamlake_fast.codec.codec import Codec
from streamlake_fast.codec.messages import Messages
from streamlake_fast.cost.prices import Prices, load_prices
from streamlake_fast.cost.usage import Cost, transport_of
from streamlake_fast.destinations.model import Destinations
from streamlake_fast.destinations.schema_watch import SchemaWatch
from streamlake_fast.exceptions import SourceError
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sources.base import Source
from streamlake_fast.sources.delivery import Delivery, nack_quietly
from streamlake_fast.worker.batcher import Batcher
from streamlake_fast.worker.fanout import FanOut
from streamlake_fast.worker.ledger import AckLedger
from streamlake_fast.worker.metrics import MetricsExporter
from streamlake_fast.worker.router import Router
from streamlake_fast.worker.stats import WorkerStats

__all__ = ["Worker"]

log = logging.getLogger(__name__)


class Worker:
    """Drain ``source`` into ``sinks`` through ``codec``; rejects go to ``dead_letter``.

    Each sink gets the columns its ``schema`` names (event fields and metadata columns).

    :param flush_at: when messages waiting for a buffering sink (the lake) fill this share of the source's flow
        control, the sinks are flushed so those messages can be acknowledged and receiving goes on.
    :param shutdown_timeout: seconds from :meth:`stop` to the end of :meth:`run`, whatever the sinks do: at three
        quarters of it retries stop and what is not durable is handed back (:meth:`abort`); if a call is still
        blocked when it is over, :attr:`on_overrun` is called (the CLI exits the process there).
    :param schema_watch: follows the table's schema while the worker runs (see :class:`FanOut`).
    """

    def __init__(
        self,
        source: Source,
        sinks: Sequence[Sink] = (),
        codec: Codec | None = None,
        *,
        dead_letter: Sink | None = None,
        routes: Destinations | None = None,
        max_rows: int = 50_000,
        max_bytes: int = 8_000_000,
        max_latency: float = 1.0,
        progress_interval: float = 5.0,
        exit_when_drained: bool = False,
        progress: TextIO | None = None,
        metrics_port: int | None = None,
        metrics_address: str = "127.0.0.1",
        flush_at: float = 0.75,
        shutdown_timeout: float = 30.0,
        schema_watch: SchemaWatch | None = None,
        prices: Prices | None = None,
    ) -> None:
        self.source = source
        self.prices = prices if prices is not None else load_prices()
        self.stats = WorkerStats()
        self._transport = transport_of(source.name)
        self._stop = threading.Event()  # no more receiving; finish what is in flight
        self._abort = threading.Event()  # give up retrying; hand in-flight messages back
        self.batcher = Batcher(source, max_rows=max_rows, max_bytes=max_bytes, max_latency=max_latency)
        self.fanout: FanOut | Router
        if routes is not None:
            self.fanout = Router(routes, source=source.name, abort=self._abort, on_retry=self._count_retry,
                                 usage=self.stats.usage)  # fmt: skip
            self.stats.routes = self.fanout.route_stats
        elif codec is None or dead_letter is None:
            raise TypeError("Worker needs a codec and a dead_letter sink, or routes")
        else:
            self.fanout = FanOut(codec, sinks, dead_letter, source=source.name, abort=self._abort,
                                 on_retry=self._count_retry, schema_watch=schema_watch,
                                 usage=self.stats.usage)  # fmt: skip
        self.ledger = AckLedger()
        self.flush_at = flush_at
        self.progress_interval = progress_interval
        self.exit_when_drained = exit_when_drained
        self._progress = progress or sys.stderr
        self.metrics = MetricsExporter(metrics_port, metrics_address) if metrics_port is not None else None
        self._stop_reason = ""
        self._abort_reason = ""
        self.shutdown_timeout = shutdown_timeout
        self.on_overrun: Callable[[], None] | None = None
        self._finished = threading.Event()

    @property
    def sinks(self) -> list[Sink]:
        return self.fanout.sinks

    def stop(self, reason: str = "stop") -> None:
        """Stop receiving, finish and acknowledge what is in flight, then return from :meth:`run` (safe to call
        from a signal handler: it only sets flags)."""
        self._stop_reason = self._stop_reason or reason
        self._stop.set()

    def abort(self, reason: str = "abort") -> None:
        """Stop retrying failed writes: in-flight messages are handed back for redelivery."""
        self._abort_reason = reason
        self._stop.set()
        self._abort.set()

    def run(self) -> WorkerStats:
        """Run until :meth:`stop` (or until the source is drained, with ``exit_when_drained``)."""
        self._finished.clear()
        threading.Thread(target=self._watch_shutdown, name="streamlake-shutdown", daemon=True).start()
        self.source.start()
        last_report = time.perf_counter()
        try:
            try:
                while not self._stop.is_set():
                    deliveries = self.batcher.next(self._stop)
                    if deliveries:
                        self._write(deliveries)
                    elif self.exit_when_drained and self.source.drained():
                        break
                    else:
                        self.fanout.follow_timer()  # a table changed while no events came is seen before they do
                    self._settle(force=self._window_full())
                    if time.perf_counter() - last_report >= self.progress_interval:
                        last_report = time.perf_counter()
                        self._report()
                if self._stop_reason:
                    self._say(f"[worker] {self._stop_reason}: finishing in-flight batches")
                self._settle(force=True)  # before waiting for the receives in flight to return
            finally:
                self.source.stop()
            while (delivery := self.source.get(0)) is not None:  # received before the stop
                self._write([delivery])
            self._settle(force=True)
        finally:
            if self._abort_reason:
                self._say(f"[worker] {self._abort_reason}: handing in-flight messages back")
            if len(self.ledger):
                # What is durable everywhere is acknowledged (not rewritten after a restart); the rest goes back.
                self._count_acked(self.ledger.settle(self.fanout.durable_now()))
                log.warning("%d messages not durable everywhere; handing them back", self.ledger.held_messages)
                self.stats.awaiting_durable -= self.ledger.nack_all()
            self._stop.set()
            self._hand_back_received()
            self.fanout.close()
            self._report()
            if self.metrics is not None:
                self.metrics.close()
            self._finished.set()
        return self.stats

    def _watch_shutdown(self) -> None:
        """Bound the time from a stop to the end of :meth:`run` by ``shutdown_timeout``."""
        self._stop.wait()
        if self._finished.wait(self.shutdown_timeout * 0.75):
            return
        self.abort(f"shutdown_timeout ({self.shutdown_timeout:g} s) nearly over")
        if self._finished.wait(self.shutdown_timeout * 0.25):
            return
        log.error("shutdown_timeout (%g s) passed with a write still blocked", self.shutdown_timeout)
        if self.on_overrun is not None:
            self.on_overrun()

    def _write(self, deliveries: list[Delivery]) -> None:
        received = Messages.concat([d.messages for d in deliveries])
        n = len(received)
        self.stats.in_flight += n
        try:
            messages = received.opened()  # envelopes → their events (the writer finds none left to open)
            result = self.fanout.write(messages)
        except BaseException:
            log.error("batch of %d messages not written; handing it back for redelivery", n)
            nack_quietly(deliveries)
            raise
        finally:
            self.stats.in_flight -= n
            self.stats.decode_cpu = self.fanout.decode_cpu
        self.ledger.add(deliveries)
        s = self.stats
        s.awaiting_durable += n
        s.messages += n
        s.events += len(messages)
        self._count_usage(deliveries, messages)
        s.rows += result.num_rows
        s.rejects += len(result.rejects)
        s.reject_codes.update(r.code for r in result.rejects)
        if isinstance(self.fanout, Router):
            s.destinations_opened = self.fanout.cache.opened
        else:
            s.duplicates_skipped = sum(getattr(sink, "duplicates_skipped", 0) for sink in self.fanout.sinks)
        s.batches += 1
        self._settle()

    def _count_usage(self, deliveries: list[Delivery], events: Messages) -> None:
        """What the source's service bills for these deliveries (one pull or receive each), and what the same
        events would bill as plain messages."""
        usage = self.stats.usage
        usage.events += len(events)
        usage.plain_bytes += events.billed_bytes
        for d in deliveries:
            if self._transport == "pubsub":
                usage.request(d.messages.billed_bytes)
            elif self._transport == "sqs":
                usage.received_sqs(len(d), d.data_bytes)

    def _hand_back_received(self) -> None:
        """Nack what the source received and the worker never took (after an error stopped the loop)."""
        try:
            self.source.stop()
        except Exception as e:
            log.warning("stopping the source failed: %s", e)
        left = []
        while True:
            try:
                delivery = self.source.get(0)
            except SourceError:
                break
            if delivery is None:
                break
            left.append(delivery)
        if left:
            nack_quietly(left)

    def _settle(self, force: bool = False) -> None:
        """Acknowledge what every destination holds durably (after flushing everything, with ``force``); the time
        the acknowledgements take is the window in which a crash leaves durable rows to be written again."""
        durable = self.fanout.durable(force)
        started = time.perf_counter()
        acked = self.ledger.settle(durable)
        if acked:
            self.stats.ack_lag_max = max(self.stats.ack_lag_max, time.perf_counter() - started)
        self._count_acked(acked)
        if self.metrics is not None:
            self.metrics.update(self.stats)

    def _count_acked(self, acked: int) -> None:
        self.stats.ack_failures = self.ledger.ack_failures
        if acked:
            self.stats.awaiting_durable -= acked
            self.stats.acked += acked
            self.stats.last_ack = time.perf_counter()

    def _window_full(self) -> bool:
        """Messages awaiting a buffering sink hold flow control; past ``flush_at`` of it, flush to keep going."""
        share = self.source.flow_control.share(self.ledger.held_messages, self.ledger.held_bytes)
        return share >= self.flush_at

    def _count_retry(self, _error: BaseException) -> None:
        self.stats.sink_retries += 1

    def cost(self) -> Cost:
        """What the run has cost so far, by service, and the managed path's for the same events."""
        self.stats.usage.cpu_seconds = self.stats.cpu
        return self.stats.usage.cost(self.prices)

    def _report(self) -> None:
        cost = self.cost()
        if self.metrics is not None:
            self.metrics.update(self.stats)
            self.metrics.update_cost(cost)
        self._say(f"{self.stats.line()}, ${cost.per_million(cost.total):.4f}/M events "
                  f"(export subscriptions ${cost.per_million(cost.managed):.4f})")  # fmt: skip

    def _say(self, line: str) -> None:
        self._progress.write(line + "\n")
        self._progress.flush()
