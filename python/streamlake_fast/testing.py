"""In-memory parts for your own tests: run the worker, the fan-out or the push writer with no cloud and no disk.

>>> from streamlake_fast import Codec, Schema, Worker
>>> from streamlake_fast.testing import MemorySink, MemorySource
>>> schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}])
>>> rows, dead = MemorySink("rows"), MemorySink("dead letters")
>>> source = MemorySource([[b'{"id": "a"}', b'{"id": 1}']])
>>> stats = Worker(source, [rows], Codec(schema), dead_letter=dead, exit_when_drained=True,
...                progress_interval=60, progress=None).run()
>>> rows.table().column("id").to_pylist(), dead.table().column("reason_code").to_pylist(), source.acked
(['a'], ['type_mismatch'], 2)
"""

from __future__ import annotations

import pyarrow as pa

from streamlake_fast.exceptions import SinkError
from streamlake_fast.sources.memory import MemorySource

__all__ = ["MemorySink", "MemorySource"]


class MemorySink:
    """A :class:`~streamlake_fast.sinks.base.Sink` keeping every batch written to it.

    :param schema: the columns it wants (event fields and metadata columns; None: every event field).
    :param lagging: batches become durable only on :meth:`flush` or :meth:`advance`, as a lake file's do when it
        rolls (default: durable when written, as a BigQuery append).

    Set ``fail`` to make the next writes raise :class:`~streamlake_fast.exceptions.SinkError`.
    """

    def __init__(self, name: str = "memory", schema: pa.Schema | None = None, *, lagging: bool = False) -> None:
        self.name, self.schema = name, schema
        self.lagging = lagging
        self.batches: list[pa.RecordBatch] = []
        self.durable_batches = 0
        self.rows_written = 0
        self.fail = False

    def write(self, batch: pa.RecordBatch) -> None:
        if self.fail:
            raise SinkError(f"{self.name}: refused")
        self.batches.append(batch)
        self.rows_written += batch.num_rows
        if not self.lagging:
            self.durable_batches = len(self.batches)

    def advance(self, k: int) -> None:
        """Make ``k`` more of the written batches durable."""
        self.durable_batches = min(len(self.batches), self.durable_batches + k)

    def durable_ids(self) -> set[str]:
        """The message ids of the durable rows (needs the ``message_id`` column)."""
        return {i for b in self.batches[: self.durable_batches] for i in b.column("message_id").to_pylist()}

    def table(self) -> pa.Table:
        """Every row written, as one table."""
        if not self.batches:
            return pa.table({}) if self.schema is None else self.schema.empty_table()
        return pa.Table.from_batches(self.batches)

    def poll(self) -> None:
        pass

    def flush(self) -> None:
        self.durable_batches = len(self.batches)

    def close(self) -> None:
        pass
