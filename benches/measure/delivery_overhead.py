"""CPU per delivery outside any transport: ``MemorySource`` → ``Worker`` → a sink, the same receipts (1% invalid)
delivered 1,000 and 10 messages at a time; the CPU difference (``getrusage``, all threads) over the difference in
deliveries is what each delivery costs beyond its messages (handing it over, flow control, batching, the ledger,
acknowledging, releasing).

Run from the repository root: ``.venv/bin/python benches/measure/delivery_overhead.py [--events 100000]
[--rounds 5] [--sink null|lake]``. Rounds alternate the two sizes after a warm-up; the medians are compared.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
from pathlib import Path

import pyarrow as pa

from streamlake_fast import Codec, Schema
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.sinks.base import Refusal, Sink, WriteIsDurable
from streamlake_fast.sinks.deadletter.files import DeadLetterFiles
from streamlake_fast.sinks.lake import LakeSink, lake_schema
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker.loop import Worker


class Nothing(WriteIsDurable):
    """A sink that keeps nothing: durable at once."""

    name, schema, rows_written = "nothing", None, 0

    def write(self, batch: pa.RecordBatch) -> list[Refusal]:
        self.rows_written += batch.num_rows
        self._written()
        return []

    def close(self) -> None:
        pass


def cpu_seconds(events: list[bytes], size: int, sink: str) -> float:
    schema = Schema.from_bigquery(RECEIPT_SCHEMA)
    root = tempfile.mkdtemp()
    sinks: list[Sink] = [Nothing()]
    dead: Sink = Nothing()
    if sink == "lake":
        sinks = [LakeSink(f"{root}/lake", schema=lake_schema(schema.to_arrow()), partition_by="event_time")]
        dead = DeadLetterFiles(f"{root}/lake")
    batches = [events[i : i + size] for i in range(0, len(events), size)]
    with Path("/dev/null").open("w") as quiet:
        worker = Worker(MemorySource(batches), sinks, Codec(schema), dead_letter=dead, exit_when_drained=True,
                        progress_interval=3600, max_rows=20_000, progress=quiet)  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_SELF)
        worker.run()
        after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sink", choices=["null", "lake"], default="null")
    args = parser.parse_args()
    events = [m for m, _ in receipts(args.events, seed=1, invalid_fraction=0.01)]
    cpu_seconds(events, 1000, args.sink)  # warm-up
    runs: dict[int, list[float]] = {1000: [], 10: []}
    for _ in range(args.rounds):
        for size, seconds in runs.items():
            seconds.append(cpu_seconds(events, size, args.sink))
    big, small = (statistics.median(runs[s]) for s in (1000, 10))
    extra = args.events / 10 - args.events / 1000
    for size, seconds in runs.items():
        print(f"deliveries of {size:>5,}: {statistics.median(seconds) / args.events * 1e6:.2f} CPU µs/event "
              f"(median of {args.rounds}: {', '.join(f'{s:.3f}' for s in seconds)} s)")  # fmt: skip
    print(f"per delivery: {(small - big) / extra * 1e6:.1f} CPU µs ({args.sink} sink)")


if __name__ == "__main__":
    main()
