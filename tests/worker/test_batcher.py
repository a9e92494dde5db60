"""The batcher alone, over the in-process source: row, byte and latency limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import zstandard

from streamlake_fast import Delivery, Messages
from streamlake_fast.exceptions import SourceError
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker.batcher import Batcher


def _events(n: int, size: int = 10) -> list[bytes]:
    return [b"{" + b" " * (size - 2) + b"}"] * n


def _started(source: MemorySource) -> MemorySource:
    source.start()
    time.sleep(0.05)
    return source


def test_stops_at_max_rows() -> None:
    source = _started(MemorySource([_events(3)] * 10))
    batch = Batcher(source, max_rows=7, max_bytes=10**9, max_latency=5).next(threading.Event())
    assert [len(d) for d in batch] == [3, 3, 3]  # 9 >= 7: the delivery that crosses the limit is the last
    source.stop()


def test_stops_at_max_bytes() -> None:
    source = _started(MemorySource([_events(2, size=100)] * 10))
    batch = Batcher(source, max_rows=10**6, max_bytes=250, max_latency=5).next(threading.Event())
    assert sum(d.messages.data_bytes for d in batch) == 400  # two deliveries of 200 bytes
    source.stop()


def _trickle(n: int, every: float) -> Iterator[list[bytes]]:
    for _ in range(n):
        time.sleep(every)
        yield _events(1)


def test_stops_at_half_the_latency_budget() -> None:
    source = MemorySource(_trickle(100, 0.05))
    source.start()
    start = time.perf_counter()
    batch = Batcher(source, max_rows=10**6, max_bytes=10**9, max_latency=0.6).next(threading.Event())
    waited = time.perf_counter() - start
    assert 2 <= len(batch) <= 10
    assert waited < 1.0  # the first arrives after ~0.05 s, then 0.3 s of gathering
    source.stop()


def test_empty_when_nothing_arrives() -> None:
    source = _started(MemorySource([]))
    assert Batcher(source, max_rows=10, max_bytes=10, max_latency=1, idle=0.05).next(threading.Event()) == []
    source.stop()


class FailingAfterOne(MemorySource):
    """Hands out one delivery, then fails for good (a subscription deleted mid-batch)."""

    def __init__(self) -> None:
        super().__init__([_events(2)])
        self.calls = 0

    def get(self, timeout: float) -> Delivery | None:
        self.calls += 1
        if self.calls > 1:
            raise SourceError("pulling failed: NOT_FOUND")
        return super().get(5)


def test_a_source_failing_mid_batch_hands_back_what_was_gathered() -> None:
    source = _started(FailingAfterOne())
    with pytest.raises(SourceError):
        Batcher(source, max_rows=100, max_bytes=10**9, max_latency=5).next(threading.Event())
    assert (source.nacked, source.acked, source.flow_control.messages) == (2, 0, 0)
    source.stop()


def _envelopes(n: int, events: int) -> Messages:
    """``n`` envelopes of ``events`` events of 100 bytes each with their newline (``zstandard``'s frames state
    their size)."""
    data = zstandard.ZstdCompressor().compress(b"".join(b"{" + b" " * 97 + b"}\n" for _ in range(events)))
    attrs = {"content-encoding": "zstd", "content-type": "application/x-ndjson", "event-count": str(events)}
    return Messages.from_parts([(data, attrs, f"m{i}", 1_000_000, "") for i in range(n)])


def test_envelopes_count_their_events_and_opened_bytes() -> None:
    """``max_rows`` and ``max_bytes`` bound what is written: an envelope's events and their decompressed bytes, not
    the one message and its few compressed bytes that carried them."""
    source = _started(MemorySource([_envelopes(2, 60)] * 10))  # 120 events, 12,000 bytes a delivery
    batch = Batcher(source, max_rows=200, max_bytes=10**9, max_latency=5).next(threading.Event())
    assert len(batch) == 2 and [d.events for d in batch] == [120, 120]
    source.stop()
    source = _started(MemorySource([_envelopes(2, 60)] * 10))
    batch = Batcher(source, max_rows=10**6, max_bytes=30_000, max_latency=5).next(threading.Event())
    assert len(batch) == 3 and [d.content_bytes for d in batch] == [12_000] * 3
    source.stop()
