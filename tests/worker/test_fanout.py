"""The fan-out writer alone: one decode, each sink its own columns, the rejects to the dead-letter destination."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.sinks import Refusal
from streamlake_fast.sinks.deadletter import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.retry import Retry
from streamlake_fast.worker.fanout import FanOut
from tests.worker.memory_sinks import LaggingSink

SCHEMA = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}])
EVENTS = [b'{"id": "a", "n": 1}', b'{"id": "b", "n": "x"}', b'{"id": "c"}']


def test_each_sink_gets_its_columns_and_the_rejects_go_to_dead_letters() -> None:
    table = pa.schema([pa.field("n", pa.int64()), pa.field("attributes", pa.string()), pa.field("id", pa.string()),
                       pa.field("subscription_name", pa.string())])  # fmt: skip
    lake = pa.schema([*SCHEMA.to_arrow(), pa.field("message_id", pa.string()),
                      pa.field("publish_time", pa.timestamp("us", tz="UTC"))])  # fmt: skip
    sinks = [LaggingSink("table", table), LaggingSink("lake", lake), LaggingSink("plain", None)]
    dead = LaggingSink("dead", DEAD_LETTER_SCHEMA)
    fanout = FanOut(Codec(SCHEMA), sinks, dead, source="projects/p/subscriptions/s", abort=threading.Event())
    assert fanout.metadata == ["subscription_name", "message_id", "publish_time", "attributes"]
    result = fanout.write(Messages.from_data(EVENTS, first_id=10, publish_time_us=0))
    assert result.num_rows == 2 and [r.index for r in result.rejects] == [1]
    [t], [lk], [plain], [d] = (s.batches for s in [*sinks, dead])
    assert t.schema.names == table.names and t.column("id").to_pylist() == ["a", "c"]
    assert t.column("subscription_name").to_pylist() == ["projects/p/subscriptions/s"] * 2
    assert lk.schema.names == lake.names and lk.column("message_id").to_pylist() == ["10", "12"]
    assert plain.schema.equals(SCHEMA.to_arrow())
    assert d.column("message_id").to_pylist() == ["11"] and d.column("reason_code").to_pylist() == ["invalid_value"]
    assert fanout.written == 1 and fanout.durable() == 0
    assert fanout.durable(force=True) == 1  # flushed everywhere


def test_a_sink_asking_for_unknown_columns_is_refused_at_start() -> None:
    sink = LaggingSink("table", pa.schema([pa.field("nope", pa.string())]))
    with pytest.raises(ConfigError, match=r"wants columns the events and metadata do not have: \['nope'\]"):
        FanOut(Codec(SCHEMA), [sink], LaggingSink("dead", DEAD_LETTER_SCHEMA), source="s", abort=threading.Event())


class Flaky(LaggingSink):
    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__("flaky", None)
        self.failures, self.error = failures, error

    def write(self, batch: pa.RecordBatch) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error
        super().write(batch)


def test_transient_failures_are_retried_and_permanent_ones_raise() -> None:
    retries: list[BaseException] = []
    fast = Retry(initial=0.001, maximum=0.002)
    flaky = Flaky(2, TransientSinkError("down"))
    fanout = FanOut(Codec(SCHEMA), [flaky], LaggingSink("dead", DEAD_LETTER_SCHEMA), source="s",
                    abort=threading.Event(), on_retry=retries.append, retry=fast)  # fmt: skip
    fanout.write(Messages.from_data(EVENTS))
    assert len(retries) == 2 and len(flaky.batches) == 1
    refused = Flaky(1, SinkError("refused"))
    fanout = FanOut(Codec(SCHEMA), [refused], LaggingSink("dead", DEAD_LETTER_SCHEMA), source="s",
                    abort=threading.Event(), retry=fast)  # fmt: skip
    with pytest.raises(SinkError, match="refused"):
        fanout.write(Messages.from_data(EVENTS))
    assert fanout.written == 0


class Refusing(LaggingSink):
    """Refuses the rows whose ``n`` is 3 (as a sink may, for reasons the codec cannot see)."""

    def write(self, batch: pa.RecordBatch) -> list[Refusal]:
        super().write(batch)
        return [Refusal(i, "refused_by_sink", "too many threes") for i, n in enumerate(batch.column("n").to_pylist())
                if n == 3]  # fmt: skip


def test_rows_a_sink_refuses_are_dead_lettered_with_its_reason() -> None:
    dead = LaggingSink("dead", DEAD_LETTER_SCHEMA)
    sinks = [Refusing("picky", None), Refusing("also picky", None)]  # both refuse the same rows: one dead letter each
    fanout = FanOut(Codec(SCHEMA), sinks, dead, source="s", abort=threading.Event())
    events = [b'{"id": "a", "n": 1}', b'{"id": "b", "n": "x"}', b'{"id": "c", "n": 3}', b'{"id": "d", "n": 3}']
    result = fanout.write(Messages.from_data(events, first_id=1))
    assert [(r.index, r.code) for r in result.rejects] == [(1, "invalid_value"), (2, "refused_by_sink"),
                                                           (3, "refused_by_sink")]  # fmt: skip
    [records] = dead.batches
    assert records.column("message_id").to_pylist() == ["2", "3", "4"]
    assert records.column("message").to_pylist()[1:] == ["too many threes; too many threes"] * 2
