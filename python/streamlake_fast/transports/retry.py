"""The one retry policy: exponential backoff with jitter, transient vs permanent errors, an overall deadline and
an abort switch. Every caller that retries (sinks, dead letters, pulls, acknowledgements, publishes) uses it."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from streamlake_fast.exceptions import TransientSinkError

__all__ = ["Retry", "is_transient_sink_error"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient_sink_error(e: BaseException) -> bool:
    return isinstance(e, TransientSinkError)


@dataclass(frozen=True)
class Retry:
    """Retry a call while ``retryable(error)`` holds.

    The n-th wait is drawn uniformly from ``[d/2, d]`` with ``d = min(initial * multiplier**n, maximum)``.
    Gives up — re-raising the last error — after ``attempts`` calls, once ``deadline`` seconds have passed, or
    as soon as ``abort`` is set. ``None`` means no such limit.
    """

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    attempts: int | None = None
    deadline: float | None = None

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure (0-based)."""
        d = min(self.initial * self.multiplier**attempt, self.maximum)
        return random.uniform(d / 2, d)

    def call(
        self,
        fn: Callable[[], T],
        *,
        retryable: Callable[[BaseException], bool] = is_transient_sink_error,
        what: str = "call",
        abort: threading.Event | None = None,
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> T:
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as e:
                if not retryable(e):
                    raise
                attempt += 1
                wait = self.delay(attempt - 1)
                out_of_time = self.deadline is not None and time.monotonic() - start + wait > self.deadline
                if (abort is not None and abort.is_set()) or out_of_time or attempt == self.attempts:
                    raise
                log.warning("%s failed (%s); retry %d in %.1fs", what, e, attempt, wait)
                if on_retry is not None:
                    on_retry(e)
                if abort is not None:
                    if abort.wait(wait):
                        raise
                else:
                    time.sleep(wait)
