"""A one-line progress report on stderr every few seconds, and totals at the end."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["Progress"]


@dataclass
class Progress:
    """Counts events, rejects and the CPU time spent decoding; prints a line at most every ``interval`` seconds."""

    label: str = "decode"
    interval: float = 2.0
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    events: int = 0
    rows: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    _last: float = 0.0

    def add(self, events: int, rows: int, reject_codes: list[str], cpu_seconds: float) -> None:
        self.events += events
        self.rows += rows
        self.rejects.update(reject_codes)
        self.cpu_seconds += cpu_seconds
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6 if self.events else 0.0

    def line(self) -> str:
        rate = self.events / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"[{self.label}] {self.events:,} events ({rate:,.0f}/s wall), {self.rows:,} rows, "
            f"{sum(self.rejects.values()):,} rejects, {self.cpu_us_per_event:.3f} CPU µs/event in the codec"
        )
