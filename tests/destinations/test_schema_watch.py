"""Live schema pickup in the fan-out writer, against a lake on disk: a widened table schema is adopted between
batches (the batch that called for it decoded again), a narrowing one is not, failures to read it are survived,
and the lake records each schema it used."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.destinations.schema_watch import SchemaWatch
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.sinks.deadletter import DEAD_LETTER_SCHEMA
from streamlake_fast.sinks.lake import LakeSink, lake_schema, verify_lake
from streamlake_fast.worker.fanout import FanOut
from tests.worker.memory_sinks import LaggingSink

BASE = [{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64", "mode": "NULLABLE"}]
WIDER = [*BASE, {"name": "tier", "type": "STRING", "mode": "NULLABLE"}]


class Table:
    """The table's schema as a test changes it; ``fetch`` reads it (or fails, when told to)."""

    def __init__(self) -> None:
        self.fields = BASE
        self.fail: Exception | None = None
        self.reads = 0

    def fetch(self) -> Schema:
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        return Schema.from_bigquery(self.fields)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waited: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float, abort: threading.Event) -> bool:
        self.waited.append(seconds)
        self.now += seconds
        return abort.is_set()


def setup(tmp_path: Path, interval: float = 60.0) -> tuple[Table, Clock, FanOut, LakeSink, LaggingSink]:
    table, clock = Table(), Clock()
    schema = Schema.from_bigquery(BASE)
    lake = LakeSink(str(tmp_path / "lake"), schema=lake_schema(schema.to_arrow()), spool_dir=str(tmp_path / "spool"))
    dead = LaggingSink("dead", DEAD_LETTER_SCHEMA)
    watch = SchemaWatch("p.d.t", schema, fetch=table.fetch, interval=interval, min_interval=5.0, clock=clock,
                        wait=clock.wait)  # fmt: skip
    fanout = FanOut(Codec(schema), [lake], dead, source="s", abort=threading.Event(), schema_watch=watch)
    return table, clock, fanout, lake, dead


def batch(first: int, tier: bool) -> Messages:
    extra = ', "tier": "gold"' if tier else ""
    events = [f'{{"id": "e{i}", "n": {i}{extra}}}'.encode() for i in range(first, first + 3)]
    return Messages.from_data(events, first_id=first, publish_time_us=0)


def test_a_widened_table_is_followed_without_losing_the_batch_that_needed_it(tmp_path: Path) -> None:
    table, clock, fanout, _, dead = setup(tmp_path)
    assert fanout.write(batch(0, tier=False)).num_rows == 3
    clock.now = 0.5  # the first rejects calling for a look are never held back
    result = fanout.write(batch(3, tier=True))  # table not changed yet: dead letters, after one look at the table
    assert [r.code for r in result.rejects] == ["unknown_field"] * 3 and table.reads == 1
    table.fields = WIDER  # someone ran ALTER TABLE … ADD COLUMN tier STRING
    clock.now = 3.0
    result = fanout.write(batch(6, tier=True))  # within min_interval of the last look: waits for its turn, looks
    assert clock.waited == [2.5] and table.reads == 2
    assert result.num_rows == 3 and not result.rejects
    assert result.batch.column("tier").to_pylist() == ["gold"] * 3
    clock.now = 20.0
    assert not fanout.write(batch(9, tier=True)).rejects and table.reads == 2
    assert fanout.write(batch(12, tier=False)).batch.column("tier").to_pylist() == [None] * 3
    fanout.durable(force=True)
    assert sum(len(b) for b in dead.batches) == 3
    files = sorted((tmp_path / "lake").rglob("*.parquet"))
    lake = ["message_id", "publish_time", "event_index"]
    assert [pq.read_schema(f).names for f in files] == [["id", "n", *lake], ["id", "n", "tier", *lake]]
    report = verify_lake(str(tmp_path / "lake"))
    history = report.schema_history()
    assert [h["files"] for h in history] == [1, 1] and history[1]["change"] == "added tier"
    assert any(line.endswith("added tier") for line in report.lines())


def test_the_timer_picks_up_a_change_with_no_rejects(tmp_path: Path) -> None:
    table, clock, fanout, _, _ = setup(tmp_path, interval=60.0)
    table.fields = WIDER
    clock.now = 30.0
    assert "tier" not in fanout.write(batch(0, tier=False)).batch.schema.names and table.reads == 0
    clock.now = 61.0
    assert "tier" in fanout.write(batch(3, tier=False)).batch.schema.names and table.reads == 1


def test_rejects_no_schema_could_take_never_read_the_table(tmp_path: Path) -> None:
    table, clock, fanout, _, _ = setup(tmp_path)
    clock.now = 30.0
    bad = Messages.from_data([b'{"id": "a", "n": "x"}', b"{oops"], first_id=1, publish_time_us=0)
    assert len(fanout.write(bad).rejects) == 2 and table.reads == 0


def test_a_narrowing_change_is_not_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    table, clock, fanout, _, _ = setup(tmp_path)
    table.fields = [{"name": "id", "type": "INT64", "mode": "REQUIRED"}, *BASE[1:], WIDER[-1]]
    clock.now = 10.0
    result = fanout.write(batch(0, tier=True))
    assert [r.code for r in result.rejects] == ["unknown_field"] * 3
    assert "changed type from STRING to INT64" in caplog.text and "restart it" in caplog.text
    assert fanout.codec.schema.names == ["id", "n"]


def test_a_failed_read_is_survived_and_the_events_dead_lettered(tmp_path: Path) -> None:
    table, clock, fanout, _, dead = setup(tmp_path)
    table.fail = ConfigError("cannot read the schema of table p.d.t: 503")
    clock.now = 10.0
    assert len(fanout.write(batch(0, tier=True)).rejects) == 3
    assert fanout.schema_watch is not None and fanout.schema_watch.failures == 1
    assert sum(len(b) for b in dead.batches) == 3


def test_a_field_looked_for_in_vain_twice_no_longer_holds_batches_back(tmp_path: Path) -> None:
    """A producer that keeps sending a field no one adds: two looks wait for their turn, then its batches pass
    at once (dead-lettered), and the look comes back with the next window."""
    table, clock, fanout, _, _ = setup(tmp_path)
    for now in (0.5, 1.0, 6.0, 7.0):
        clock.now = max(clock.now, now)
        assert len(fanout.write(batch(int(now * 10), tier=True)).rejects) == 3
    assert clock.waited == [4.5] and table.reads == 2 and clock.now == 7.0
    clock.now = 11.0  # min_interval after the last look: looked at again (no wait)
    fanout.write(batch(110, tier=True))
    assert table.reads == 3 and clock.waited == [4.5]
    assert fanout.schema_watch is not None and fanout.schema_watch.deferred == 1


def test_the_timer_runs_while_no_events_arrive(tmp_path: Path) -> None:
    """A worker with nothing to read still follows the table on its timer, so the first events after a change are
    rows, not dead letters."""
    from streamlake_fast.sources.memory import MemorySource
    from streamlake_fast.worker import Worker

    table = Table()
    schema = Schema.from_bigquery(BASE)
    watch = SchemaWatch("p.d.t", schema, fetch=table.fetch, interval=0.2)
    lake = LakeSink(str(tmp_path / "lake"), schema=lake_schema(schema.to_arrow()), spool_dir=str(tmp_path / "spool"))
    release = threading.Event()

    def batches() -> Iterator[list[bytes]]:
        release.wait(30)
        yield [b'{"id": "a", "tier": "gold"}']

    worker = Worker(MemorySource(batches()), [lake], Codec(schema), dead_letter=LaggingSink("dead", DEAD_LETTER_SCHEMA),
                    max_latency=0.05, exit_when_drained=True, schema_watch=watch, progress_interval=60)  # fmt: skip
    runner = threading.Thread(target=worker.run)
    runner.start()
    table.fields = WIDER
    deadline = time.monotonic() + 10
    while table.reads == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    read_while_idle = table.reads
    release.set()
    runner.join(30)
    assert read_while_idle >= 1, "the timer did not run while idle"
    assert worker.stats.rows == 1 and worker.stats.rejects == 0
