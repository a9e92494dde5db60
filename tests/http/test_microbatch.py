"""Requests handled together: the thread batcher (WSGI, the Functions Framework) and the event-loop batcher (the
ASGI services) — batches form under load, results go back in order, an error reaches every caller of its batch."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from streamlake_fast.http.microbatch import LoopBatcher, MicroBatcher


class Recorder:
    def __init__(self, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, items: Sequence[int]) -> list[int]:
        with self.lock:
            self.batches.append(list(items))
        time.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"item {self.fail_on}")
        return [i * 10 for i in items]


def test_thread_batcher_gathers_while_busy_and_answers_each_in_order() -> None:
    handle = Recorder(delay=0.05)
    batcher = MicroBatcher(handle, max_items=8, workers=1)
    first = batcher.submit(0)
    time.sleep(0.01)  # the first batch is being handled; the next 20 wait together
    futures = [batcher.submit(i) for i in range(1, 21)]
    assert first.result(5) == 0 and [f.result(5) for f in futures] == [i * 10 for i in range(1, 21)]
    batcher.close()
    assert handle.batches[0] == [0] and [len(b) for b in handle.batches[1:]] == [8, 8, 4]
    assert sorted(i for b in handle.batches for i in b) == list(range(21))


def test_thread_batcher_weight_limit_and_errors() -> None:
    handle = Recorder(delay=0.05, fail_on=3)
    batcher = MicroBatcher(handle, max_weight=10, weight=lambda i: 4, workers=1)
    hold = batcher.submit(100)
    time.sleep(0.01)
    futures = [batcher.submit(i) for i in range(6)]
    with pytest.raises(ValueError, match="item 3"):
        futures[3].result(5)
    assert futures[2].exception(5) is not None and futures[0].result(5) == 0  # 2 and 3 shared a batch
    assert hold.result(5) == 1000
    batcher.close()
    assert [len(b) for b in handle.batches[1:]] == [2, 2, 2]  # two items of weight 4 fit in 10


def test_loop_batcher_batches_one_turn_of_the_loop() -> None:
    handle = Recorder(delay=0.05)

    async def main() -> list[int]:
        batcher = LoopBatcher(handle, max_items=5, workers=1)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(12)))
        batcher.close()
        return list(results)

    assert asyncio.run(main()) == [i * 10 for i in range(12)]
    assert [len(b) for b in handle.batches] == [5, 5, 2]


def test_loop_batcher_error_reaches_its_batch_only() -> None:
    handle = Recorder(fail_on=1)

    async def main() -> list[object]:
        batcher = LoopBatcher(handle, max_items=2, workers=1)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(4)), return_exceptions=True)
        batcher.close()
        return list(results)

    results = asyncio.run(main())
    assert [type(r).__name__ for r in results[:2]] == ["ValueError", "ValueError"] and results[2:] == [20, 30]
