"""The one retry policy: backoff bounds, transient vs permanent, attempts, deadline, abort."""

from __future__ import annotations

import threading
import time

import pytest

from streamlake_fast.exceptions import SinkError, TransientSinkError
from streamlake_fast.transports.retry import Retry


class Flaky:
    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.error = error or TransientSinkError("down")

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


FAST = Retry(initial=0.001, maximum=0.004)


def test_transient_failures_are_retried_until_success() -> None:
    fn, seen = Flaky(3), []
    assert FAST.call(fn, on_retry=seen.append) == "ok"
    assert fn.calls == 4 and len(seen) == 3


def test_permanent_errors_raise_at_once() -> None:
    fn = Flaky(1, SinkError("refused"))
    with pytest.raises(SinkError, match="refused"):
        FAST.call(fn)
    assert fn.calls == 1


def test_gives_up_after_attempts_with_the_last_error() -> None:
    fn = Flaky(10)
    with pytest.raises(TransientSinkError):
        Retry(initial=0.001, attempts=3).call(fn)
    assert fn.calls == 3


def test_gives_up_at_the_deadline() -> None:
    fn = Flaky(10_000)
    start = time.monotonic()
    with pytest.raises(TransientSinkError):
        Retry(initial=0.01, maximum=0.02, deadline=0.2).call(fn)
    assert time.monotonic() - start < 1.0
    assert 5 < fn.calls < 100


def test_abort_stops_a_wait_at_once() -> None:
    abort = threading.Event()
    threading.Timer(0.1, abort.set).start()
    start = time.monotonic()
    with pytest.raises(TransientSinkError):
        Retry(initial=30).call(Flaky(10), abort=abort)
    assert time.monotonic() - start < 5


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    r = Retry(initial=1.0, maximum=8.0, multiplier=2.0)
    for attempt, cap in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        delays = [r.delay(attempt) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(set(delays)) > 100  # jittered


def test_a_custom_classifier_decides_what_is_transient() -> None:
    fn = Flaky(2, KeyError("x"))
    assert FAST.call(fn, retryable=lambda e: isinstance(e, KeyError)) == "ok"
