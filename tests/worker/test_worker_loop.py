"""The worker loop over the in-process source: however a run ends, every delivery it received is settled."""

from __future__ import annotations

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
