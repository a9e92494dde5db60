"""The worker's unit tests' shorthands: a source's settling side that records every call, and the shipped
in-memory sink (:mod:`streamlake_fast.testing`) made lagging."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pyarrow as pa

from streamlake_fast import Delivery
from streamlake_fast.testing import MemorySink


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

    def release(self, deliveries: Sequence[Delivery]) -> None:
        self.released += len(deliveries)


class LaggingSink(MemorySink):
    """The shipped in-memory sink, its batches durable only when the test says so (``advance``, ``flush``)."""

    def __init__(self, name: str, schema: pa.Schema | None) -> None:
        super().__init__(name, schema, lagging=True)
