"""The Iceberg sink: rows written as Parquet data files under the table's ``data/`` as batches arrive (the lake
sink's writer: a file per day partition, rolled at the target size), and committed to the table — one append
covering every file written since the last (manifests merged as Iceberg's ``commit.manifest-merge.enabled``
asks) — every ``commit_interval`` seconds or once ``commit_bytes`` are waiting. A batch is durable when the
commit holding its rows succeeded; the worker acknowledges its messages
then. A commit that loses a race with another writer (two workers on one table) is retried on the table's new
metadata. Files written but never committed (a crash between the two) are in no snapshot: readers never see them.

No duplicates after a crash: a crash after a commit and before the acknowledgements it allowed makes the source
deliver those messages again. At start the sink reads the ``message_id`` column of the current snapshot's newest
files — the newest ``dedup_ids`` rows, more than the messages any worker holds unacknowledged — and for
``dedup_window`` seconds drops the rows of a redelivered message the table already holds (counted in
``duplicates_skipped``; the message is acknowledged with its batch). After the window, or with nothing to load, no
row is checked.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.typedef import Record

from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.sinks.iceberg.background import Maintainer, MaintenancePolicy
from streamlake_fast.sinks.iceberg.catalog import open_catalog
from streamlake_fast.sinks.iceberg.files import data_file
from streamlake_fast.sinks.iceberg.types import arrow_for_iceberg, file_schema, needs_cast
from streamlake_fast.sinks.lake.layout import NULL_PARTITION, PARTITION_KEY
from streamlake_fast.sinks.lake.sink import LakeSink
from streamlake_fast.sinks.redeliveries import DEDUP_IDS, DEDUP_WINDOW, Redeliveries, file_keys, newest_ids
from streamlake_fast.transports.storage import Root

__all__ = ["IcebergSink"]

log = logging.getLogger(__name__)

#: Attempts of a commit that loses races to other writers before the sink reports a transient failure.
COMMIT_ATTEMPTS = 12
EPOCH = date(1970, 1, 1)
DEFAULT_MAINTENANCE = MaintenancePolicy()
#: Properties of the tables the sink creates: old metadata files deleted (a commit a second would otherwise leave
#: 3,600 an hour), manifests merged on append so that the manifest list stays short as the table ages.
TABLE_PROPERTIES = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "commit.manifest-merge.enabled": "true",
}


@dataclass
class _Written:
    """A finished data file waiting for its commit."""

    data_file: DataFile
    rows: int
    first_batch: int


class IcebergSink:
    """Write Arrow batches to the Iceberg table ``table`` (``NAMESPACE.TABLE``) of ``catalog`` (a
    :class:`pyiceberg.catalog.Catalog`, or a catalog URI for :func:`open_catalog` with ``warehouse``).

    :param schema: the rows' columns: the event columns plus ``message_id`` and ``publish_time``
        (:func:`~streamlake_fast.sinks.lake.lake_schema`). A missing table is created from it (and its namespace),
        partitioned by ``day(partition_by)`` (else ``day(publish_time)``); an existing table gains the columns it
        lacks (optional fields, by name) — data files are never rewritten for a schema change.
    :param commit_interval: seconds between commits (each makes the rows since the last one visible, and durable).
    :param commit_bytes: commit sooner once this many Parquet bytes are waiting.
    :param target_file_bytes: roll a data file at this size (default: the table's ``write.target-file-size-bytes``,
        else 128 MiB).
    :param dedup_ids: message ids of the newest rows read back at start to recognise redeliveries (0: none).
    :param dedup_window: seconds after start during which rows are checked against them.
    :param maintenance: compaction and snapshot expiry in a background thread (None: none; ``streamlake lake
        compact|expire`` then does it).
    """

    def __init__(
        self,
        table: str,
        *,
        catalog: Catalog | str,
        schema: pa.Schema,
        warehouse: str | None = None,
        partition_by: str | None = None,
        commit_interval: float = 2.0,
        commit_bytes: int = 256 << 20,
        target_file_bytes: int | None = None,
        compression: str = "zstd",
        max_open_files: int = 32,
        dedup_ids: int = DEDUP_IDS,
        dedup_window: float = DEDUP_WINDOW,
        maintenance: MaintenancePolicy | None = DEFAULT_MAINTENANCE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if commit_interval <= 0 or commit_bytes <= 0:
            raise ConfigError("commit_interval and commit_bytes must be positive")
        if "." not in table:
            raise ConfigError(f"Iceberg table {table!r}: expected NAMESPACE.TABLE")
        self.catalog = open_catalog(catalog, warehouse=warehouse) if isinstance(catalog, str) else catalog
        self.identifier = table
        self.name = f"iceberg:{table}"
        self.partition_by = partition_by or "publish_time"
        self.commit_interval = commit_interval
        self.commit_bytes = commit_bytes
        self._clock = clock
        self.table = self._open_table(table, schema)
        self.schema = schema
        self._cast_to = arrow_for_iceberg(schema) if needs_cast(schema) else None  # BIGNUMERIC → string
        size = target_file_bytes or int(self.table.properties.get("write.target-file-size-bytes", 128 << 20))
        self._data = f"{self.table.location().rstrip('/')}/data"
        self._base = Root(self._data).path
        self._lake = LakeSink(self._data, schema=self._file_schema(schema), partition_by=partition_by,
                              target_file_bytes=size, max_file_age=commit_interval, compression=compression,
                              max_open_files=max_open_files, clock=clock, on_finished=self._finished,
                              record_history=False, publish_time_fallback=False)  # fmt: skip
        self._waiting: list[_Written] = []
        self._waiting_bytes = 0
        self._written = 0  # batches accepted
        self._durable = 0
        self._last_commit = clock()
        self.rows_written = 0  # rows in committed data files
        self.files_written = 0
        self.commits = 0
        self.commit_retries = 0
        self.commit_seconds: list[float] = []  # each commit's wall time, in order
        held = self._recent_ids(dedup_ids) if dedup_ids else None
        self._redeliveries = Redeliveries(self.name, held, dedup_window, clock)
        self.maintainer = Maintainer(self.catalog, table, maintenance) if maintenance else None

    # -- the table

    def _open_table(self, identifier: str, schema: pa.Schema) -> Table:
        namespace = identifier.rsplit(".", 1)[0]
        try:
            table = self.catalog.load_table(identifier)
        except NoSuchTableError:
            with contextlib.suppress(NamespaceAlreadyExistsError):
                self.catalog.create_namespace(namespace)
            try:
                table = self.catalog.create_table(identifier, schema=arrow_for_iceberg(schema),
                                                  properties=TABLE_PROPERTIES)  # fmt: skip
                log.info("%s: created", self.name)
            except TableAlreadyExistsError:  # another worker created it first
                table = self.catalog.load_table(identifier)
        self._evolve(table, schema)
        if not any(f.name == f"{self.partition_by}_day" for f in table.spec().fields):
            try:
                with table.update_spec() as spec:
                    spec.add_field(self.partition_by, DayTransform(), f"{self.partition_by}_day")
            except CommitFailedException:  # another worker did it first
                table.refresh()
            except ValueError as e:
                raise ConfigError(f"{self.name}: cannot partition by day({self.partition_by}): {e}") from e
        return table

    def _evolve(self, table: Table, schema: pa.Schema) -> None:
        """Add the columns ``schema`` has and the table lacks (optional fields, new ids)."""
        have = set(table.schema().column_names)
        if all(name in have for name in schema.names):
            return
        log.info("%s: adding columns %s", self.name, [n for n in schema.names if n not in have])
        with table.update_schema() as update:
            update.union_by_name(arrow_for_iceberg(schema))

    def _file_schema(self, schema: pa.Schema) -> pa.Schema:
        try:
            return file_schema(schema, self.table.schema())
        except KeyError as e:
            raise SinkError(f"{self.name}: the table has no column {e.args[0]!r}") from e

    def follow_schema(self, events: pa.Schema, table: pa.Schema) -> None:
        """The events gained columns: the table gains them too; new files carry them."""
        from streamlake_fast.sinks.lake.layout import lake_schema

        self._use_schema(lake_schema(events))

    def _use_schema(self, schema: pa.Schema) -> None:
        if schema.equals(self.schema):
            return
        self._evolve(self.table, schema)
        self.table.refresh()
        self.schema = schema
        self._cast_to = arrow_for_iceberg(schema) if needs_cast(schema) else None  # BIGNUMERIC → string
        self._lake.use_schema(self._file_schema(schema))

    # -- the Sink interface

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.schema.equals(self.schema):
            self._use_schema(batch.schema)
        if self._cast_to is not None:
            batch = batch.cast(self._cast_to)
        self._written += 1
        batch = self._redeliveries.filter(batch)
        if batch.num_rows:
            self._lake.write(batch)
        if self._waiting_bytes >= self.commit_bytes:
            self._commit()

    @property
    def durable_batches(self) -> int:
        return self._durable

    @property
    def duplicates_skipped(self) -> int:
        """Rows of redelivered messages the table held already, not written again."""
        return self._redeliveries.skipped

    def poll(self) -> None:
        if self._written > self._durable and self._clock() - self._last_commit >= self.commit_interval:
            self._commit()
        else:
            self._lake.poll()

    def flush(self) -> None:
        self._commit()

    def close(self) -> None:
        if self.maintainer is not None:
            self.maintainer.close()
        self._lake.close()

    # -- redeliveries

    def _recent_ids(self, limit: int) -> pa.Array | None:
        """The message ids of the newest ``limit`` rows (at least) of the current snapshot: its data files, newest
        data sequence number first (whatever snapshots expiry kept)."""
        table = self.table
        snapshot = table.current_snapshot()
        if snapshot is None:
            return None
        entries = [e for m in snapshot.manifests(table.io) for e in m.fetch_manifest_entry(table.io)]
        entries.sort(key=lambda e: e.sequence_number or 0, reverse=True)
        return newest_ids(self.name, (self._ids(e.data_file.file_path) for e in entries), limit)

    def _ids(self, path: str) -> pa.Array | None:
        with self.table.io.new_input(path).open() as f:
            return file_keys(pq.ParquetFile(f))

    # -- files and commits

    def _finished(self, spool: Path, final: str, rows: int) -> None:
        """A data file is finished (still in the spool): its Iceberg entry, from its footer, for the next commit."""
        directory = final.rsplit("/", 2)[-2]
        day = directory.removeprefix(f"{PARTITION_KEY}=")
        value = None if day == NULL_PARTITION else (date.fromisoformat(day) - EPOCH).days
        path = f"{self._data}/{final[len(self._base) + 1 :]}"
        entry = data_file(self.table.metadata, path, spool.stat().st_size, pq.read_metadata(str(spool)), Record(value))
        self._waiting.append(_Written(entry, rows, self._written - 1))
        self._waiting_bytes += entry.file_size_in_bytes

    def _commit(self) -> None:
        """Make every batch written so far visible: finish the open files, then one append of every waiting file."""
        target = self._written
        self._lake.flush()  # every file finished (_finished) and in place; none visible to readers yet
        waiting = list(self._waiting)
        if waiting:
            started = time.perf_counter()
            self._append([w.data_file for w in waiting])
            self.commit_seconds.append(time.perf_counter() - started)
            self.commits += 1
            self.rows_written += sum(w.rows for w in waiting)
            self.files_written += len(waiting)
            del self._waiting[: len(waiting)]
            self._waiting_bytes = sum(w.data_file.file_size_in_bytes for w in self._waiting)
        self._durable = target
        self._last_commit = self._clock()

    def _append(self, files: list[DataFile]) -> None:
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                with self.table.transaction() as tx, tx.update_snapshot().merge_append() as append:
                    for f in files:
                        append.append_data_file(f)
                return
            except CommitFailedException as e:  # another writer committed first: again on its metadata
                self.commit_retries += 1
                log.info("%s: commit conflict (%s); retrying", self.name, e)
                time.sleep(min(1.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
                self.table.refresh()
            except (OSError, ConnectionError) as e:
                raise TransientSinkError(f"{self.name}: commit failed: {e}") from e
        raise TransientSinkError(f"{self.name}: {COMMIT_ATTEMPTS} commits lost to other writers in a row")

    def __repr__(self) -> str:
        return f"IcebergSink({self.identifier!r}, partition_by={self.partition_by!r})"
