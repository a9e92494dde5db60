"""The worker's counters and its progress line (also exported as Prometheus metrics when a port is given)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streamlake_fast.cost.usage import Usage

if TYPE_CHECKING:
    from streamlake_fast.worker.router import RouteStats

__all__ = ["WorkerStats"]


@dataclass
class WorkerStats:
    """Counters of one run."""

    events: int = 0
    messages: int = 0  # received (fewer than the events when some are envelopes)
    rows: int = 0
    rejects: int = 0
    acked: int = 0
    batches: int = 0
    in_flight: int = 0
    awaiting_durable: int = 0
    sink_retries: int = 0
    ack_failures: int = 0  # durable messages whose acknowledgement failed: they may be delivered again
    duplicates_skipped: int = 0  # rows of redelivered messages a lake or table held already, not written again
    ack_lag_max: float = 0.0  # the longest from durable everywhere to acknowledged (the crash-duplicate window)
    decode_cpu: float = 0.0
    reject_codes: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)
    last_ack: float = 0.0  # perf_counter when the latest batch was acknowledged
    cpu_started: float = field(default_factory=time.process_time)
    routes: dict[str, RouteStats] = field(default_factory=dict)  # a routed stream's figures, by route
    destinations_opened: int = 0  # a routed stream's destinations (a table's stream, a lake writer) opened
    usage: Usage = field(default_factory=Usage)  # what the services bill (streamlake_fast.cost)

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
            + "".join(f" · {name} {r.events:,}" for name, r in self.routes.items())
        )

    def totals(self) -> str:
        return (
            f"events {self.events:,}  messages {self.messages:,}  rows {self.rows:,}  rejects {self.rejects:,}  "
            f"acked {self.acked:,}  "
            f"batches {self.batches:,}  sink retries {self.sink_retries:,}  ack failures {self.ack_failures:,}  "
            f"ack lag max {self.ack_lag_max * 1000:,.0f} ms  CPU {self.cpu / max(self.events, 1) * 1e6:.1f} µs/event"
            + (f"  redelivered rows skipped {self.duplicates_skipped:,}" if self.duplicates_skipped else "")
            + "".join(f"\n  route {r.line(name)}" for name, r in self.routes.items())
            + (f"\n  destinations opened {self.destinations_opened:,}" if self.routes else "")
        )
