"""In-memory implementations of the seams (a source's settling side, a sink) for the worker's unit tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pyarrow as pa

from streamlake_fast import Delivery
from streamlake_fast.exceptions import SinkError


class Recorder:
    """A source's settling side that records every call."""

    def __init__(self) -> None:
        self.acks: Counter[str] = Counter()
        self.nacks: Counter[str] = Counter()
        self.released = 0
        self.calls = 0

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.calls += 1
        self.acks.update(d.messages.message(i).message_id for d in deliveries for i in range(len(d)))

    def nack(self, deliveries: Sequence[Delivery]) -> None:
        self.nacks.update(d.messages.message(i).message_id for d in deliveries for i in range(len(d)))

    def extend(self, deliveries: Sequence[Delivery], seconds: float) -> None:
        pass

    def release(self, d: Delivery) -> None:
        self.released += 1


class LaggingSink:
    """Accepts batches at once; they become durable only when the test says so."""

    def __init__(self, name: str, schema: pa.Schema | None) -> None:
        self.name, self.schema = name, schema
        self.batches: list[pa.RecordBatch] = []
        self.durable_batches = 0
        self.rows_written = 0
        self.fail = False

    def write(self, batch: pa.RecordBatch) -> None:
        if self.fail:
            raise SinkError(f"{self.name}: refused")
        self.batches.append(batch)
        self.rows_written += batch.num_rows

    def advance(self, k: int) -> None:
        self.durable_batches = min(len(self.batches), self.durable_batches + k)

    def durable_ids(self) -> set[str]:
        out: set[str] = set()
        for b in self.batches[: self.durable_batches]:
            out.update(b.column("message_id").to_pylist())
        return out

    def poll(self) -> None:
        pass

    def flush(self) -> None:
        self.durable_batches = len(self.batches)

    def close(self) -> None:
        pass
