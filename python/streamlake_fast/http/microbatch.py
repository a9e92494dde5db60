"""Requests arriving together, handled together: items submitted from any thread (or an event loop, through
:func:`asyncio.wrap_future`) are gathered into batches that one call handles, each caller getting its own result.

A worker takes what is queued when it becomes free (and waits up to ``max_wait`` for more): with one request at a
time nothing waits, and under load the batches grow by themselves while the previous ones are being handled."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["LoopBatcher", "MicroBatcher"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
_STOP = object()


class _Batching(Generic[T, R]):
    """What both batchers share: the handler, a batch's limits (``max_items`` items, ``max_weight`` of
    ``weight(item)``) and the counts."""

    def __init__(
        self,
        handle: Callable[[Sequence[T]], Sequence[R]],
        max_items: int,
        max_weight: int,
        weight: Callable[[T], int],
    ) -> None:
        self._handle = handle
        self.max_items = max_items
        self.max_weight = max_weight
        self._weight = weight
        self.batches = 0
        self.items = 0


class MicroBatcher(_Batching[T, R]):
    """Hand batches of submitted items to ``handle`` (which returns one result per item, in order) on ``workers``
    threads; a batch holds at most ``max_items`` items and ``max_weight`` of ``weight(item)``."""

    def __init__(
        self,
        handle: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_items: int = 1000,
        max_weight: int = 8_000_000,
        weight: Callable[[T], int] = lambda _: 1,
        max_wait: float = 0.0,
        workers: int = 2,
        name: str = "batch",
    ) -> None:
        super().__init__(handle, max_items, max_weight, weight)
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._held: tuple[T, Future[R]] | None = None  # an item that did not fit the last batch
        self._take = threading.Lock()  # one worker gathers a batch at a time
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        """Handle what was submitted, then stop the workers."""
        for _ in self._threads:
            self._queue.put(_STOP)
        for t in self._threads:
            t.join()

    def _run(self) -> None:
        while True:
            batch = self._gather()
            if batch is None:
                return
            self._complete(batch)

    def _gather(self) -> list[tuple[T, Future[R]]] | None:
        with self._take:
            first = self._held or self._queue.get()
            self._held = None
            if first is _STOP:
                return None
            batch: list[tuple[T, Future[R]]] = [first]  # type: ignore[list-item]
            weight = self._weight(batch[0][0])
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_items:
                try:
                    left = deadline - time.monotonic()
                    nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put(_STOP)  # for the next worker, once this batch is handled
                    break
                w = self._weight(nxt[0])  # type: ignore[index]
                if weight + w > self.max_weight:
                    self._held = nxt  # type: ignore[assignment]
                    break
                batch.append(nxt)  # type: ignore[arg-type]
                weight += w
            return batch

    def _complete(self, batch: list[tuple[T, Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = self._handle([item for item, _ in batch])
        except BaseException as e:  # every caller of the batch gets the error
            log.exception("batch of %d failed", len(batch))
            for _, f in batch:
                f.set_exception(e)
            return
        for (_, f), r in zip(batch, results, strict=True):
            f.set_result(r)


class LoopBatcher(_Batching[T, R]):
    """The same batching for callers on one asyncio event loop, with no thread hand-off per item: items submitted
    during one turn of the loop are handled together by ``handle`` on a worker thread (``workers`` batches at
    once; while they run, new items gather for the next batch), and every result is set back on the loop.

    ``linger``: under load (items waiting when a batch finishes), wait this long before the next batch, so that
    fewer, larger batches amortize each call's fixed cost; an idle batcher starts a batch at once."""

    def __init__(
        self,
        handle: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_items: int = 1000,
        max_weight: int = 8_000_000,
        weight: Callable[[T], int] = lambda _: 1,
        workers: int = 2,
        linger: float = 0.0,
        name: str = "batch",
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        super().__init__(handle, max_items, max_weight, weight)
        self.linger = linger
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._pending: deque[tuple[T, asyncio.Future[R]]] = deque()  # bounded by the service's admission
        self._running = 0
        self._scheduled = False

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if not self._scheduled and self._running < self.workers:
            self._scheduled = True
            loop.call_soon(self._start)
        return await future

    def _start(self) -> None:
        self._scheduled = False
        while self._pending and self._running < self.workers:
            batch: list[tuple[T, asyncio.Future[R]]] = []
            weight = 0
            while self._pending and len(batch) < self.max_items:
                w = self._weight(self._pending[0][0])
                if batch and weight + w > self.max_weight:
                    break
                batch.append(self._pending.popleft())
                weight += w
            self._running += 1
            asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._pool, self._handle, [i for i, _ in batch])
        except BaseException as e:  # every caller of the batch gets the error
            log.exception("batch of %d failed", len(batch))
            for _, f in batch:
                if not f.done():
                    f.set_exception(e)
        else:
            for (_, f), r in zip(batch, results, strict=True):
                if not f.done():
                    f.set_result(r)
        finally:
            self._running -= 1
            if self._pending and not self._scheduled:
                self._scheduled = True
                loop = asyncio.get_running_loop()
                if self.linger > 0:
                    loop.call_later(self.linger, self._start)
                else:
                    loop.call_soon(self._start)

    def close(self) -> None:
        """Wait for the batches being handled, then stop the worker threads."""
        self._pool.shutdown(wait=True)
