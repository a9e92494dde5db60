"""The lake sink: the worker's Arrow batches as Parquet files, partitioned by event date.

Rows are buffered per partition into one open file each (row groups written to a local spool as they fill), at
most ``max_open_files`` at once. A file rolls — becomes visible — when it reaches ``target_file_bytes`` or
``max_file_age`` seconds, when a new partition needs its place (the least recently written file rolls first), on
:meth:`LakeSink.flush`, or when the schema changes. Visible means whole: on local disk the spool sits beside its
final name under a hidden name, is fsynced and renamed; on GCS/S3 the spool is local, uploaded under a hidden
key and moved to its final key once whole (:meth:`~streamlake_fast.transports.storage.Root.publish`). A batch counts as
durable once every file holding its rows is visible.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streamlake_fast.codec.schema import Schema
from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.sinks.lake.dictionaries import Dictionaries
from streamlake_fast.sinks.lake.history import record_schema
from streamlake_fast.sinks.lake.layout import FINGERPRINT_KEY, LAKE_COLUMNS, file_name, lake_schema, partitions
from streamlake_fast.sinks.lake.recent import recent_ids
from streamlake_fast.sinks.redeliveries import DEDUP_WINDOW, Redeliveries
from streamlake_fast.transports.storage import Root, sink_error
from streamlake_fast.transports.storage import spool_dir as spool_dir_for

__all__ = ["LakeSink"]

log = logging.getLogger(__name__)


@dataclass
class _OpenFile:
    partition: str
    token: str  # unique per file: the writer's random id and a counter
    spool: Path
    writer: pq.ParquetWriter
    first_batch: int  # the sink's write counter when the file got its first rows
    first_message_id: str
    opened: float
    created: float
    rows: int = 0
    arrow_bytes: int = 0
    written_bytes: int = 0  # row groups already in the spool
    buffered: list[pa.RecordBatch] = field(default_factory=list)
    buffered_bytes: int = 0  # Arrow bytes not yet in a row group


@dataclass
class _Closed:
    """A finished spool waiting to become visible (an upload that failed is retried from here)."""

    spool: Path
    final: str
    first_batch: int
    rows: int
    partition: str


class LakeSink:
    """Write Arrow batches as Parquet under ``root`` (a path, ``gs://bucket/prefix`` or ``s3://bucket/prefix``).

    :param schema: the columns of the files: the event columns plus ``message_id`` and ``publish_time``
        (:func:`~streamlake_fast.sinks.lake.lake_schema`).
    :param partition_by: a TIMESTAMP, DATETIME or DATE column whose UTC date names the partition; rows where it is
        null, or all rows when it is None, use ``publish_time``.
    :param target_file_bytes: roll a file when its estimated Parquet size reaches this.
    :param max_file_age: roll a file this many seconds after its first row.
    :param row_group_bytes: Arrow bytes buffered per file before a row group is written.
    :param max_open_files: files open at once (one per partition being written); a new partition beyond it rolls
        the least recently written file first. Bounds the file descriptors and memory however many dates a batch
        spans.
    :param on_finished: called with each finished file's spool path, final path and rows before it is made
        visible (a table format reads its footer there: the Iceberg sink).
    :param record_history: keep the lake's schema history (``_schemas/``) under ``root``.
    :param publish_time_fallback: rows whose ``partition_by`` is null go to ``publish_time``'s date (else to the
        null partition).
    :param dedup_ids: read back the message ids of the lake's newest files, this many rows, at start; for
        ``dedup_window`` seconds rows of those messages (redelivered after a crash) are not written again
        (:mod:`~streamlake_fast.sinks.redeliveries`; 0: no check, the default — the worker's lakes use
        :data:`~streamlake_fast.sinks.redeliveries.DEDUP_IDS`).

    Storage errors, a full disk (ENOSPC, EDQUOT) included, are handled by where the rows are, not by the error:
    while a batch is being written into open files (creating, writing, finishing a file), any failure raises
    :class:`~streamlake_fast.exceptions.SinkError` — the rows are half taken, so a retry could write them twice;
    the worker stops and their messages are redelivered after a restart (which frees the spool). Once a file is
    finished, making it visible (rename, upload) is retried while the error may heal
    (:func:`~streamlake_fast.transports.storage.is_permanent`), since the rows are safe in the spool.
    """

    def __init__(
        self,
        root: str,
        *,
        schema: pa.Schema,
        partition_by: str | None = None,
        target_file_bytes: int = 128 << 20,
        max_file_age: float = 60.0,
        compression: str = "zstd",
        row_group_bytes: int = 64 << 20,
        max_open_files: int = 32,
        spool_dir: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_finished: Callable[[Path, str, int], None] | None = None,
        record_history: bool = True,
        publish_time_fallback: bool = True,
        dedup_ids: int = 0,
        dedup_window: float = DEDUP_WINDOW,
    ) -> None:
        for name in LAKE_COLUMNS[:2]:  # event_index is optional: rows without it are plain messages'
            if name not in schema.names:
                raise ConfigError(f"lake files need a {name!r} column; build the schema with lake_schema()")
        if partition_by is not None:
            if partition_by not in schema.names:
                raise ConfigError(f"partition_by: no column {partition_by!r} in the schema")
            t = schema.field(partition_by).type
            if not (pa.types.is_timestamp(t) or pa.types.is_date32(t)):
                raise ConfigError(f"partition_by: {partition_by!r} is {t}; it must be a TIMESTAMP, DATETIME or DATE")
        if target_file_bytes <= 0 or max_file_age <= 0 or max_open_files <= 0:
            raise ConfigError("target_file_bytes, max_file_age and max_open_files must be positive")
        self.root = root
        self._root = Root(root, "lake root")
        self.name = f"lake:{self._root.shown}"
        self._base = self._root.path
        try:
            self._root.fs.create_dir(self._base, recursive=True)
        except OSError as e:
            raise ConfigError(f"cannot create lake root {root}: {e}") from e
        self.partition_by = partition_by
        self.target_file_bytes = target_file_bytes
        self.max_file_age = max_file_age
        self.compression = compression
        self.row_group_bytes = row_group_bytes
        self.max_open_files = max_open_files
        self._clock = clock
        self._on_finished = on_finished
        self._record_history = record_history
        self._fallback = publish_time_fallback
        self._spool_dir = Path(spool_dir) if spool_dir else spool_dir_for("spool")
        self._own_spool = spool_dir is None
        self._writer_id = secrets.token_hex(4)
        self._files_made = 0
        self._open: dict[str, _OpenFile] = {}  # least recently written first
        self._closed: list[_Closed] = []
        self._written = 0  # batches accepted
        self._ratio = 0.25  # Parquet bytes per Arrow byte, learned from the files written
        self._dictionaries = Dictionaries()  # the columns written without one
        self._retry_at = 0.0
        self._set_schema(schema)
        self.rows_written = 0  # rows in visible files
        self.bytes_written = 0
        self.files_written = 0
        self.files_evicted = 0  # files rolled early to make room for another partition
        held = recent_ids(self._root, dedup_ids) if dedup_ids else None
        self._redeliveries = Redeliveries(self.name, held, dedup_window, clock)

    @property
    def duplicates_skipped(self) -> int:
        """Rows of redelivered messages the lake held already, not written again."""
        return self._redeliveries.skipped

    def _set_schema(self, schema: pa.Schema) -> None:
        fingerprint = Schema.from_arrow(schema).fingerprint
        self.schema = schema
        self.fingerprint = fingerprint
        self._file_schema = schema.with_metadata({FINGERPRINT_KEY: fingerprint.encode()})
        if not self._record_history:
            return
        try:
            if record_schema(self._root, schema, fingerprint, self._spool_dir):
                log.info("%s: schema %s recorded in the lake's history", self.name, fingerprint)
        except OSError as e:  # the files still carry their schema; only the history misses an entry
            log.warning("%s: cannot record schema %s in the lake's history: %s", self.name, fingerprint, e)

    def follow_schema(self, events: pa.Schema, table: pa.Schema) -> None:
        """The events gained columns: finish the files of the old schema; new files have the new one."""
        self.use_schema(lake_schema(events))

    def use_schema(self, schema: pa.Schema) -> None:
        """Write new files with ``schema`` (its fields' metadata kept: e.g. Parquet field ids), finishing the files
        of the old one first when it differs."""
        if not schema.equals(self.schema, check_metadata=True):
            log.info("%s: schema changed; rolling %d open files", self.name, len(self._open))
            self._roll_all()
            self._set_schema(schema)

    # -- the Sink interface

    def write(self, batch: pa.RecordBatch) -> None:
        """Buffer ``batch``'s rows in their partitions' open files (rolling any that are full)."""
        if not batch.schema.equals(self.schema):
            # A widened schema (a new NULLABLE column): finish the files of the old one, start new files.
            log.info("%s: schema changed; rolling %d open files", self.name, len(self._open))
            self._roll_all()
            self._set_schema(batch.schema)
        seq = self._written
        self._written += 1
        batch = self._redeliveries.filter(batch)
        for partition, rows in partitions(batch, self.partition_by, fallback=self._fallback):
            f = self._file_for(partition, seq, rows)
            f.buffered.append(rows)
            f.buffered_bytes += rows.nbytes
            f.arrow_bytes += rows.nbytes
            f.rows += rows.num_rows
            if f.buffered_bytes >= self.row_group_bytes:
                self._write_row_group(f)
            if self._estimated_size(f) >= self.target_file_bytes:
                self._roll(f)
        # The rows are accepted: a failed upload must not make the worker write them again, so it is retried
        # from poll() (the finished file waits in the spool; its messages stay unacknowledged meanwhile).
        try:
            self._publish_closed()
        except TransientSinkError as e:
            log.warning("%s", e)

    @property
    def durable_batches(self) -> int:
        """Batches before the oldest one that still has rows in an open or unpublished file."""
        pending = [f.first_batch for f in self._open.values()] + [c.first_batch for c in self._closed]
        return min(pending, default=self._written)

    def poll(self) -> None:
        """Roll files past their age; retry uploads that failed."""
        now = self._clock()
        for f in list(self._open.values()):
            if now - f.opened >= self.max_file_age:
                self._roll(f)
        self._publish_closed()

    def flush(self) -> None:
        """Make every buffered row visible now."""
        self._roll_all()
        self._retry_at = 0.0
        self._publish_closed()

    def close(self) -> None:
        """Drop files not flushed (their messages were never acknowledged) and the spool."""
        for f in self._open.values():
            with contextlib.suppress(Exception):  # the spool is deleted anyway
                f.writer.close()
            f.spool.unlink(missing_ok=True)
        for c in self._closed:
            c.spool.unlink(missing_ok=True)
        if self._open or self._closed:
            log.warning("%s: %d unfinished files dropped; their messages will be redelivered", self.name,
                        len(self._open) + len(self._closed))  # fmt: skip
        self._open.clear()
        self._closed.clear()
        if self._own_spool:
            shutil.rmtree(self._spool_dir, ignore_errors=True)

    # -- files

    @property
    def open_files(self) -> int:
        return len(self._open)

    def _file_for(self, partition: str, seq: int, rows: pa.RecordBatch) -> _OpenFile:
        """The open file of ``partition`` (made the most recently used), or a new one (rolling the least recently
        used file first when ``max_open_files`` are open)."""
        f = self._open.pop(partition, None)
        if f is None:
            while len(self._open) >= self.max_open_files:
                self._roll(next(iter(self._open.values())))
                self.files_evicted += 1
            return self._start(partition, seq, rows)
        self._open[partition] = f
        return f

    def _start(self, partition: str, seq: int, rows: pa.RecordBatch) -> _OpenFile:
        self._files_made += 1
        token = f"{self._writer_id}{self._files_made:05d}"
        directory = f"{self._base}/{partition}"
        try:
            spool = self._root.spool_path(directory, f"{token}.parquet", self._spool_dir)
            writer = pq.ParquetWriter(
                str(spool),
                self._file_schema,
                compression=self.compression,
                use_dictionary=self._dictionaries.use_dictionary(rows),
            )
        except OSError as e:
            raise SinkError(f"{self.name}: cannot create a file for {directory}: {e}") from e
        first_id = rows.column("message_id")[0].as_py() if rows.num_rows else ""
        f = _OpenFile(partition, token, spool, writer, seq, str(first_id), self._clock(), time.time())
        self._open[partition] = f
        return f

    def _write_row_group(self, f: _OpenFile) -> None:
        if not f.buffered:
            return
        table = pa.Table.from_batches(f.buffered, schema=self.schema)
        try:
            f.writer.write_table(table, row_group_size=max(1, table.num_rows))
        except OSError as e:
            raise SinkError(f"{self.name}: writing {f.spool} failed: {e}") from e
        f.buffered.clear()
        f.buffered_bytes = 0
        f.written_bytes = f.spool.stat().st_size

    def _estimated_size(self, f: _OpenFile) -> float:
        return f.written_bytes + f.buffered_bytes * self._ratio

    def _roll_all(self) -> None:
        for f in list(self._open.values()):
            self._roll(f)

    def _roll(self, f: _OpenFile) -> None:
        """Finish ``f``'s Parquet file in the spool; it becomes visible in :meth:`_publish_closed`."""
        self._write_row_group(f)
        try:
            f.writer.close()
        except OSError as e:
            raise SinkError(f"{self.name}: finishing {f.spool} failed: {e}") from e
        del self._open[f.partition]
        size = f.spool.stat().st_size
        if f.arrow_bytes:
            self._ratio = min(1.0, max(0.01, 0.5 * self._ratio + 0.5 * size / f.arrow_bytes))
        final = f"{self._base}/{f.partition}/{file_name(f.first_message_id, f.rows, f.token, f.created)}"
        if self._on_finished is not None:
            self._on_finished(f.spool, final, f.rows)
        self._closed.append(_Closed(f.spool, final, f.first_batch, f.rows, f.partition))

    def _publish_closed(self) -> None:
        if not self._closed or self._clock() < self._retry_at:
            return
        while self._closed:
            c = self._closed[0]
            try:
                size = self._root.publish(c.spool, c.final)
            except OSError as e:
                self._retry_at = self._clock() + 2.0
                raise sink_error(e, f"{self.name}: publishing {c.final} failed") from e
            self._closed.pop(0)
            self.rows_written += c.rows
            self.bytes_written += size
            self.files_written += 1

    def __repr__(self) -> str:
        return f"LakeSink({self._root.shown!r}, partition_by={self.partition_by!r})"
