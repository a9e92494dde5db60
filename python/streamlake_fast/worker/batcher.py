"""The batcher: gathers deliveries into one write, until a row, byte or latency limit is reached."""

from __future__ import annotations

import threading
import time

from streamlake_fast.sources.base import Source
from streamlake_fast.sources.delivery import Delivery, nack_quietly

__all__ = ["Batcher"]


class Batcher:
    """Take deliveries from ``source`` until ``max_rows`` events or ``max_bytes`` of their data are gathered (an
    envelope counts the events it holds and their decompressed bytes), or half of ``max_latency`` has passed since
    the first one (the other half is left for decoding and writing)."""

    def __init__(self, source: Source, *, max_rows: int, max_bytes: int, max_latency: float, idle: float = 0.2):
        self.source = source
        self.max_rows, self.max_bytes, self.max_latency = max_rows, max_bytes, max_latency
        self.idle = idle

    def next(self, stop: threading.Event) -> list[Delivery]:
        """The next batch's deliveries; empty when nothing arrived within ``idle`` seconds."""
        parts: list[Delivery] = []
        rows = nbytes = 0
        deadline: float | None = None
        while True:
            timeout = self.idle if deadline is None else max(0.0, deadline - time.perf_counter())
            try:
                delivery = self.source.get(timeout)
            except BaseException:  # the source failed: what was gathered goes back, not astray
                nack_quietly(parts)
                raise
            if delivery is None:
                if not parts or time.perf_counter() >= (deadline or 0) or stop.is_set():
                    return parts
                continue
            if deadline is None:
                deadline = time.perf_counter() + self.max_latency / 2
            parts.append(delivery)
            rows += delivery.events
            nbytes += delivery.content_bytes
            if rows >= self.max_rows or nbytes >= self.max_bytes:
                return parts
