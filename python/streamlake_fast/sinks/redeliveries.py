"""Redeliveries after a crash: rows the destination already holds, recognised by message id and not written again.

A worker killed after its rows became durable and before their acknowledgements reached the source gets those
messages again from the next worker. The lake and Iceberg sinks read back, at start, the ``message_id`` column of
what they made durable last (the newest files or snapshots, ``limit`` rows — more than any worker holds
unacknowledged) and, for ``window`` seconds, drop the rows of a message already there. After the window, or with
nothing read back, no row is checked: the check costs one vectorised ``is_in`` per batch, and only at first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["DEDUP_IDS", "DEDUP_WINDOW", "KEY_COLUMNS", "Redeliveries", "file_keys", "newest_ids", "row_keys"]

log = logging.getLogger(__name__)

#: Message ids read back at start: more than the messages a worker holds unacknowledged (its flow control).
DEDUP_IDS = 500_000
#: Seconds after start during which rows are checked: Pub/Sub redelivers within its 10-minute maximum ack deadline.
DEDUP_WINDOW = 900.0


#: The columns a row's key is made of: its message, and its line when the message was an envelope.
KEY_COLUMNS = ("message_id", "event_index")


def row_keys(rows: pa.Table | pa.RecordBatch) -> pa.Array:
    """Each row's key: its message id (a plain message's row, or rows written before envelopes), or
    ``<id>#<line>`` for an envelope's event past the first."""
    ids = rows.column("message_id")
    ids = (ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids).cast(pa.string())
    if "event_index" not in rows.schema.names:
        return ids
    line = rows.column("event_index")
    line = line.combine_chunks() if isinstance(line, pa.ChunkedArray) else line
    joined = pc.binary_join_element_wise(ids, pc.cast(line, pa.string()), "#")
    return pc.if_else(pc.fill_null(pc.equal(line, 0), True), ids, joined)


def file_keys(parquet: pq.ParquetFile) -> pa.Array | None:
    """The row keys of a Parquet file (None: it has no ``message_id`` column)."""
    names = parquet.schema_arrow.names
    if "message_id" not in names:
        return None
    return row_keys(parquet.read(columns=[c for c in KEY_COLUMNS if c in names]))


class Redeliveries:
    """Drops, for ``window`` seconds, the rows whose ``message_id`` is in ``held``."""

    def __init__(self, name: str, held: pa.Array | None, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.name = name
        self._held = held if held is not None and len(held) else None
        self._until = clock() + window
        self._clock = clock
        self.skipped = 0  # rows of redelivered messages not written again

    def filter(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` without the rows of messages the destination held at start (within the window)."""
        if self._held is None:
            return batch
        if self._clock() >= self._until:
            self._held = None
            return batch
        held = pc.is_in(row_keys(batch), value_set=self._held)
        found = pc.sum(held).as_py() or 0
        if not found:
            return batch
        self.skipped += found
        log.info("%s: %d rows of redelivered messages already held, not written again", self.name, found)
        return batch.filter(pc.invert(held))


def newest_ids(name: str, columns: Iterable[pa.Array | pa.ChunkedArray | None], limit: int) -> pa.Array | None:
    """The row keys (:func:`row_keys`) of ``columns`` (one per file, newest first; None: a file without them),
    read until ``limit`` rows, as one array (None: no row)."""
    chunks: list[pa.Array] = []
    rows = files = 0
    for ids in columns:
        if rows >= limit:
            break
        if ids is None:
            continue
        chunks.extend(c.cast(pa.string()) for c in (ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]))
        rows += len(ids)
        files += 1
    if not rows:
        return None
    log.info("%s: %d message ids of the newest %d files to recognise redeliveries", name, rows, files)
    return pa.concat_arrays(chunks)
