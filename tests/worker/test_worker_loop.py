"""The worker loop over the in-process source: however a run ends, every delivery it received is settled."""

from __future__ import annotations

import threading
import time

import pytest

from streamlake_fast import Codec, Schema
from streamlake_fast.exceptions import SinkError
from streamlake_fast.sinks.deadletter import DEAD_LETTER_SCHEMA
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker import Worker
from tests.worker.memory_sinks import LaggingSink

SCHEMA = Schema.from_bigquery([{"name": "n", "type": "INT64", "mode": "REQUIRED"}])


class FailsAfter(LaggingSink):
    def __init__(self, ok_batches: int, error: BaseException) -> None:
        super().__init__("fails", None)
        self.ok_batches, self.error = ok_batches, error

    def write(self, batch: object) -> None:
        if len(self.batches) >= self.ok_batches:
            raise self.error
        super().write(batch)  # type: ignore[arg-type]


def _run(sink: LaggingSink, batches: int = 20) -> tuple[MemorySource, Worker]:
    source = MemorySource([[b'{"n": 1}'] * 10 for _ in range(batches)], max_outstanding_messages=50)
    dead = LaggingSink("dead", DEAD_LETTER_SCHEMA)
    dead.poll = dead.flush  # type: ignore[method-assign]  # dead letters durable at the next poll
    worker = Worker(source, [sink], Codec(SCHEMA), dead_letter=dead,
                    max_rows=10, exit_when_drained=True, progress_interval=60)  # fmt: skip
    return source, worker


def test_a_clean_run_acknowledges_everything() -> None:
    sink = LaggingSink("ok", None)
    sink.poll = sink.flush  # type: ignore[method-assign]  # durable at the next poll
    source, worker = _run(sink)
    stats = worker.run()
    assert (stats.events, stats.acked, source.acked, source.nacked) == (200, 200, 200, 0)
    assert source.flow_control.messages == 0


@pytest.mark.parametrize("error", [SinkError("refused for good"), RuntimeError("a bug in a sink")])
def test_a_failing_sink_leaves_nothing_unsettled(error: BaseException) -> None:
    source, worker = _run(FailsAfter(3, error))
    with pytest.raises(type(error)):
        worker.run()
    # Nothing was durable (the sink never flushed), so nothing is acknowledged; everything received is handed back.
    assert source.acked == 0
    assert source.nacked > 0
    assert source.flow_control.messages == 0  # every delivery released


def test_a_permanent_failure_still_acknowledges_what_is_durable_everywhere() -> None:
    """Batches durable in every destination before a sink fails for good are acknowledged, not rewritten."""
    sink = FailsAfter(3, SinkError("refused for good"))
    sink.poll = sink.flush  # type: ignore[method-assign]  # each batch durable at the next poll
    source, worker = _run(sink)
    with pytest.raises(SinkError):
        worker.run()
    assert source.acked == 30  # the three batches written before the failure
    assert source.nacked > 0 and source.flow_control.messages == 0


class Hangs(LaggingSink):
    """A sink whose third write blocks (a call to a hung server) until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__("hangs", None)
        self.release = threading.Event()
        self.blocked = threading.Event()

    def write(self, batch: object) -> None:
        if len(self.batches) == 2:
            self.blocked.set()
            self.release.wait()
        super().write(batch)  # type: ignore[arg-type]


def test_a_stop_is_bounded_by_shutdown_timeout_even_with_a_write_blocked() -> None:
    sink = Hangs()
    source, worker = _run(sink)
    worker.exit_when_drained = False
    worker.shutdown_timeout = 1.0
    overran = threading.Event()
    worker.on_overrun = overran.set
    runner = threading.Thread(target=worker.run)
    runner.start()
    assert sink.blocked.wait(10)
    stopped = time.monotonic()
    worker.stop("SIGTERM")
    assert overran.wait(5), "on_overrun was not called"
    assert 0.9 <= time.monotonic() - stopped < 2.0
    sink.release.set()  # the call returns at last (in the CLI the process has exited by now)
    runner.join(10)
    assert not runner.is_alive()
    assert source.flow_control.messages == 0  # every delivery settled: acknowledged if durable, else handed back


def test_a_stop_within_shutdown_timeout_does_not_overrun() -> None:
    sink = LaggingSink("ok", None)
    sink.poll = sink.flush  # type: ignore[method-assign]
    source, worker = _run(sink)
    worker.shutdown_timeout = 0.5
    worker.on_overrun = lambda: pytest.fail("overran")
    worker.run()
    time.sleep(0.6)  # the watcher has seen the run finish
    assert source.acked == 200
