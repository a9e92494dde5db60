"""The routed fan-out: one stream, many event types. Each batch is split in Rust by the routes' key and by the parts
of each route's templated table and lake path (:meth:`Messages.by_route
<streamlake_fast.codec.messages.Messages.by_route>`, no Python object per message); each group is decoded with its
route's codec and written to its destination — a :class:`~streamlake_fast.worker.fanout.FanOut` per table and lake
path, kept open in a :class:`~streamlake_fast.worker.destination_cache.DestinationCache`. Messages no route takes
(``no_route``) or whose values make no valid table or path (``invalid_destination``) are dead-lettered, and each
dead-letter destination is written once per batch.

The ack rule is the fan-out's: a batch counts as durable when every destination it wrote to holds its rows durably
(and its dead letters are durable), so the worker's :class:`~streamlake_fast.worker.ledger.AckLedger` works as is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial

import pyarrow as pa

from streamlake_fast.codec.codec import Reject
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.schema import Schema
from streamlake_fast.cost.usage import Usage
from streamlake_fast.destinations.build import build, dead_letter_sink
from streamlake_fast.destinations.model import DeadLetter, Destinations
from streamlake_fast.destinations.split import Group, Splitter
from streamlake_fast.exceptions import SinkError
from streamlake_fast.sinks.base import Abortable, Sink
from streamlake_fast.sinks.deadletter.collected import CollectedDeadLetters
from streamlake_fast.sinks.deadletter.record import dead_letter_records
from streamlake_fast.transports.retry import Retry
from streamlake_fast.worker.destination_cache import DestinationCache
from streamlake_fast.worker.fanout import SINK_RETRY, FanOut, make_durable

__all__ = ["RouteStats", "Routed", "Router", "fan_out"]

log = logging.getLogger(__name__)


@dataclass
class RouteStats:
    """One route's figures."""

    events: int = 0
    rows: int = 0
    rejects: Counter[str] = field(default_factory=Counter)

    def line(self, name: str) -> str:
        codes = ", ".join(f"{c} {n:,}" for c, n in self.rejects.most_common())
        return f"{name}: {self.events:,} events, {self.rows:,} rows, {sum(self.rejects.values()):,} rejects" + (
            f" ({codes})" if codes else ""
        )


@dataclass(frozen=True)
class Routed:
    """What :meth:`Router.write` did with a batch: the rows written and the rejected messages (batch indices)."""

    num_rows: int
    rejects: list[Reject]


class Router:
    """Route each batch of ``messages`` to its route's destinations (see the module). The writer interface is
    :class:`FanOut`'s: ``write``, ``durable``, ``durable_now``, ``follow_timer``, ``close``.

    :param events: the events' schema when the caller holds it (every route that names no schema uses it).
    :param max_file_age: the lakes', when the runtime makes files visible itself (the Lambda handler).
    """

    def __init__(
        self,
        d: Destinations,
        *,
        source: str,
        abort: threading.Event,
        on_retry: Callable[[BaseException], None] | None = None,
        retry: Retry = SINK_RETRY,
        events: Schema | None = None,
        max_file_age: float | None = None,
        usage: Usage | None = None,
    ) -> None:
        self.split = Splitter(d, events=events)
        self.usage = usage if usage is not None else Usage()  # every destination's writes counted in one
        self.source = source
        self._abort = abort
        self._on_retry = on_retry
        self._retry = retry
        self._max_file_age = max_file_age
        self._stream_dead = self.split.stream_dead
        self._dead: dict[DeadLetter, Sink] = {}
        for dead in [self._stream_dead, *(p.dead for p in self.split.plans.values())]:
            if dead not in self._dead:
                sink = self._dead[dead] = dead_letter_sink(dead)
                if isinstance(sink, Abortable):
                    sink.abort_on(abort)
        self._dead_written = dict.fromkeys(self._dead, 0)
        self._max_depth = d.codec.max_depth
        self.cache = DestinationCache(self._open, max_open=d.routing.max_open, idle_close=d.routing.idle_close)
        self.route_stats = {name: RouteStats() for name in self.split.plans}
        self.written = 0
        self._durable = 0
        self._pending: deque[list[tuple[Callable[[], int], int]]] = deque()
        self._judge_cpu = 0.0

    # -- the writer interface ---------------------------------------------------------------------------------------

    @property
    def sinks(self) -> list[Sink]:
        """The sinks of the destinations open now."""
        return [s for opened in self.cache for s in opened.fanout.sinks]

    @property
    def destinations(self) -> list[Sink]:
        return [*self.sinks, *self._dead.values()]

    @property
    def decode_cpu(self) -> float:
        return self.cache.closed_decode_cpu + self._judge_cpu + sum(o.fanout.decode_cpu for o in self.cache)

    def write(self, messages: Messages) -> Routed:
        """Open its envelopes, split, decode and write one batch; raises :class:`SinkError` when a destination
        fails for good."""
        messages = messages.opened()
        self.cache.close_idle()
        waits: list[tuple[Callable[[], int], int]] = []
        dead: dict[DeadLetter, list[pa.RecordBatch]] = {}
        rejects: list[Reject] = []
        rows = 0
        for group in self.split.groups(messages):
            plan = group.plan
            stats = self.route_stats[plan.route.name] if plan is not None else None
            where = self.split.dead_letter_of(group)
            if group.dead:
                group_rejects = self._rejected(group)
                dead.setdefault(where, []).append(
                    dead_letter_records(group.messages, group_rejects, source=self.source, schema_fingerprint="")
                )
            else:
                assert plan is not None
                opened = self.cache.get(group.key)
                opened.fanout.source = self.source
                result = opened.fanout.write(group.messages)
                waits.append((opened.durable_batches, opened.fanout.written))
                collected = opened.fanout.dead_letter
                assert isinstance(collected, CollectedDeadLetters)
                dead.setdefault(where, []).extend(collected.take())
                group_rejects = result.rejects
                rows += result.num_rows
                if stats is not None:
                    stats.rows += result.num_rows
            if stats is not None:
                stats.events += len(group.messages)
                stats.rejects.update(r.code for r in group_rejects)
            rejects += [Reject(group.position(r.index), r.code, r.path, r.message) for r in group_rejects]
        for where, batches in dead.items():
            if batches:
                waits.append(self._write_dead(where, batches))
        self._pending.append(waits)
        self.written += 1
        return Routed(rows, sorted(rejects, key=lambda r: r.index))

    def durable(self, force: bool = False) -> int:
        """Let every open destination and dead-letter destination make due rows durable (all, with ``force``);
        returns how many batches are durable everywhere they were written."""
        for opened in self.cache:
            opened.fanout.durable(force)
        for where, sink in self._dead.items():
            make_durable(sink, force and sink.durable_batches < self._dead_written[where], self._retry, self._abort,
                         self._on_retry)  # fmt: skip
        self.cache.close_idle()
        return self.durable_now()

    def durable_now(self) -> int:
        while self._pending and all(durable() >= seq for durable, seq in self._pending[0]):
            self._pending.popleft()
            self._durable += 1
        return self._durable

    def follow_timer(self) -> None:
        for opened in self.cache:
            opened.fanout.follow_timer()

    def close(self) -> None:
        try:
            self.cache.close_all()
        finally:
            for sink in self._dead.values():
                sink.close()

    def _rejected(self, group: Group) -> list[Reject]:
        cpu0 = time.thread_time()
        try:
            return self.split.rejected(group)
        finally:
            self._judge_cpu += time.thread_time() - cpu0

    # -- destinations -----------------------------------------------------------------------------------------------

    def _open(self, key: Hashable) -> FanOut:
        """A destination's writer: its route's settings with the template values, built as any stream's."""
        assert isinstance(key, tuple)
        name, values = key
        plan = self.split.plans[name]
        built = build(plan.destination(values), events=plan.events, max_file_age=self._max_file_age)
        log.info("route %s: opened %s", name, ", ".join(s.name for s in built.sinks))
        return FanOut(built.codec, built.sinks, CollectedDeadLetters(), source=self.source, abort=self._abort,
                      on_retry=self._on_retry, retry=self._retry, schema_watch=built.schema_watch,
                      usage=self.usage)  # fmt: skip

    def _write_dead(self, where: DeadLetter, batches: list[pa.RecordBatch]) -> tuple[Callable[[], int], int]:
        sink = self._dead[where]
        batch = pa.concat_batches(batches) if len(batches) > 1 else batches[0]
        if self._retry.call(partial(sink.write, batch), what=sink.name, abort=self._abort, on_retry=self._on_retry):
            raise SinkError(f"{sink.name} refused dead letters")
        self._dead_written[where] += 1
        return (lambda: sink.durable_batches), self._dead_written[where]


def fan_out(
    d: Destinations,
    *,
    source: str,
    abort: threading.Event,
    retry: Retry = SINK_RETRY,
    events: Schema | None = None,
    max_file_age: float | None = None,
) -> FanOut | Router:
    """The writer of ``d`` for a runtime that writes batches itself (push, Lambda): a :class:`Router` when ``d``
    routes, else one :class:`FanOut` over the destinations :func:`build` makes."""
    if d.routed:
        return Router(d, source=source, abort=abort, retry=retry, events=events, max_file_age=max_file_age)
    built = build(d, events=events, max_file_age=max_file_age)
    return FanOut(built.codec, built.sinks, built.dead_letter, source=source, abort=abort, retry=retry,
                  schema_watch=built.schema_watch)  # fmt: skip
