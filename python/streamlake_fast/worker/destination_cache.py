"""The destinations a routed stream has open: opened on first use, closed after an idle time, bounded in number —
the least recently used is made durable and closed first. A closed destination still answers how many of its
batches are durable (all of them), so acknowledgements waiting on it go out."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

from streamlake_fast.worker.fanout import FanOut

__all__ = ["DestinationCache", "Opened"]


class Opened:
    """One open destination: its fan-out writer (a codec and its sinks), when it was last written."""

    def __init__(self, key: Hashable, fanout: FanOut) -> None:
        self.key = key
        self.fanout = fanout
        self.last_used = time.monotonic()
        self.closed = False
        self.decode_cpu_closed = 0.0

    def durable_batches(self) -> int:
        """How many of the batches written to it are durable in every one of its sinks."""
        return self.fanout.written if self.closed else self.fanout.durable_now()

    def close(self) -> None:
        """Make everything written durable (retried as the writer's writes are), then close its sinks."""
        if not self.closed:
            self.fanout.durable(force=True)
            self.fanout.close()
            self.closed = True


class DestinationCache:
    """Open destinations by key, ``max_open`` at most, each closed after ``idle_close`` seconds unused."""

    def __init__(self, open_one: Callable[[Hashable], FanOut], *, max_open: int, idle_close: float) -> None:
        self._open_one = open_one
        self.max_open = max_open
        self.idle_close = idle_close
        self._open: OrderedDict[Hashable, Opened] = OrderedDict()
        self.opened = 0  # destinations opened over the run (each a write stream and a lake writer)
        self.closed = 0
        self.closed_decode_cpu = 0.0

    def __iter__(self) -> Iterator[Opened]:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def get(self, key: Hashable) -> Opened:
        """The destination for ``key``, opened (after closing the least recently used, when full) if need be."""
        found = self._open.get(key)
        if found is not None:
            self._open.move_to_end(key)
            found.last_used = time.monotonic()
            return found
        while len(self._open) >= self.max_open:
            self._close(next(iter(self._open)))
        opened = Opened(key, self._open_one(key))
        self._open[key] = opened
        self.opened += 1
        return opened

    def close_idle(self) -> None:
        """Close the destinations unused for ``idle_close`` seconds."""
        now = time.monotonic()
        for key in [k for k, o in self._open.items() if now - o.last_used >= self.idle_close]:
            self._close(key)

    def close_all(self) -> None:
        for key in list(self._open):
            self._close(key)

    def _close(self, key: Hashable) -> None:
        opened = self._open[key]
        opened.close()  # raises (and stays open) when its rows cannot be made durable
        del self._open[key]
        self.closed += 1
        self.closed_decode_cpu += opened.fanout.decode_cpu
