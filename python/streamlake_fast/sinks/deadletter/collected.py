"""Dead letters kept in memory, written elsewhere afterwards: the fan-out's dead-letter destination where another
part writes them once (the router, one write per dead-letter destination a batch; the Lambda handler, after the
sinks, failing only the rejected messages)."""

from __future__ import annotations

import pyarrow as pa

from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA

__all__ = ["CollectedDeadLetters"]


class CollectedDeadLetters(WriteIsDurable):
    """Keeps each batch of dead-letter records; :meth:`take` hands them over."""

    schema = DEAD_LETTER_SCHEMA
    name = "collected dead letters"

    def __init__(self) -> None:
        self.batches: list[pa.RecordBatch] = []
        self.rows_written = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.batches.append(batch)
            self.rows_written += batch.num_rows
        self._written()

    def take(self) -> list[pa.RecordBatch]:
        batches, self.batches = self.batches, []
        return batches

    def close(self) -> None:
        pass
