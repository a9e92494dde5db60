"""Keeping a streamed table healthy: small files rewritten into files of the target size, old snapshots expired with
the files only they used, files no snapshot knows (a writer killed between writing and committing) removed.

Each is a function of a loaded :class:`~pyiceberg.table.Table`, safe while writers append: a compaction is one
commit per group of files that deletes exactly those files and adds their rewrite (the row set never changes; a
reader sees the old files or the new one, never both), retried on the table's new metadata when another commit
lands first, and given up when another compaction removed one of its files. The commit is an ``overwrite`` snapshot
(pyiceberg cannot write a ``replace`` one: its summary code raises for that operation) marked
``streamlake.maintenance=compaction`` in its summary. :class:`~streamlake_fast.sinks.iceberg.background.Maintainer`
runs them on a schedule beside the sink; ``streamlake lake compact|expire`` runs them once.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow
from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.typedef import Record

from streamlake_fast.sinks.iceberg.files import data_file, live_files
from streamlake_fast.transports.storage import Root

__all__ = [
    "MAINTENANCE_KEY",
    "CompactReport",
    "ExpireReport",
    "compact",
    "expire",
    "plan_compaction",
    "remove_orphans",
]

log = logging.getLogger(__name__)

#: The snapshot summary key that marks a maintenance commit (its value: ``compaction``).
MAINTENANCE_KEY = "streamlake.maintenance"
#: A file smaller than this share of the target size is rewritten with its partition's other small files.
SMALL = 0.75
ATTEMPTS = 8


@dataclass
class CompactReport:
    """What one compaction pass did."""

    groups: int = 0  # rewritten groups (each one commit)
    files_removed: int = 0
    files_added: int = 0
    rows: int = 0
    bytes_read: int = 0
    conflicts: int = 0  # commits retried because another writer committed first
    abandoned: int = 0  # groups given up: another compaction removed one of their files
    seconds: float = 0.0


@dataclass
class ExpireReport:
    """What one expiry did."""

    snapshots_expired: int = 0
    snapshots_kept: int = 0
    files_deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0


def plan_compaction(files: Iterable[DataFile], target_bytes: int, min_files: int, spec_id: int) -> list[list[DataFile]]:
    """Groups of small files to rewrite together: per partition of spec ``spec_id`` with at least ``min_files``
    files under :data:`SMALL` of ``target_bytes``, those files packed (largest first) into groups of at most
    ``target_bytes``; a group of one file is left as it is."""
    small: dict[Record, list[DataFile]] = defaultdict(list)
    for f in files:
        if f.spec_id == spec_id and f.file_size_in_bytes < SMALL * target_bytes:
            small[f.partition].append(f)
    groups: list[list[DataFile]] = []
    for candidates in small.values():
        if len(candidates) < min_files:
            continue
        bins: list[tuple[int, list[DataFile]]] = []
        for f in sorted(candidates, key=lambda f: f.file_size_in_bytes, reverse=True):
            for i, (size, members) in enumerate(bins):
                if size + f.file_size_in_bytes <= target_bytes:
                    members.append(f)
                    bins[i] = (size + f.file_size_in_bytes, members)
                    break
            else:
                bins.append((f.file_size_in_bytes, [f]))
        groups.extend(members for _, members in bins if len(members) > 1)
    return groups


def compact(table: Table, *, target_bytes: int | None = None, min_files: int = 5, compression: str = "zstd",
            max_groups: int | None = None) -> CompactReport:  # fmt: skip
    """Rewrite the current snapshot's small files, partition by partition, into files of about ``target_bytes``
    (default: the table's ``write.target-file-size-bytes``, else 128 MiB); one commit per group."""
    started = time.perf_counter()
    report = CompactReport()
    table.refresh()
    target = target_bytes or int(table.properties.get("write.target-file-size-bytes", 128 << 20))
    groups = plan_compaction(live_files(table), target, min_files, table.metadata.default_spec_id)
    for group in groups[:max_groups]:
        new = _rewrite(table, group, compression)
        if _replace(table, group, new, report):
            report.groups += 1
            report.files_removed += len(group)
            report.files_added += 1
            report.rows += new.record_count
            report.bytes_read += sum(f.file_size_in_bytes for f in group)
        else:
            report.abandoned += 1
            table.io.delete(new.file_path)
    report.seconds = time.perf_counter() - started
    if report.groups:
        log.info("%s: compacted %d files into %d (%d rows) in %.2f s", ".".join(table.name()), report.files_removed,
                 report.files_added, report.rows, report.seconds)  # fmt: skip
    return report


def _rewrite(table: Table, group: list[DataFile], compression: str) -> DataFile:
    """One Parquet file holding every row of ``group`` (read by field id in the table's current schema, as any
    Iceberg reader would), beside the first of them."""
    schema = table.schema()
    arrow = schema_to_pyarrow(schema, include_field_ids=True)
    directory = group[0].file_path.rsplit("/", 1)[0]
    path = f"{directory}/compacted-{uuid.uuid4().hex}.parquet"
    footers: list[pq.FileMetaData] = []
    scan = ArrowScan(table.metadata, table.io, schema, AlwaysTrue())
    with table.io.new_output(path).create() as out:
        with pq.ParquetWriter(out, arrow, compression=compression, metadata_collector=footers) as writer:
            for batch in scan.to_record_batches([FileScanTask(f) for f in group]):
                writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=arrow))
        size = out.tell()
    return data_file(table.metadata, path, size, footers[0], group[0].partition)


def _replace(table: Table, old: list[DataFile], new: DataFile, report: CompactReport) -> bool:
    """Commit ``old`` → ``new``; False when one of ``old`` is no longer in the table (another compaction)."""
    for attempt in range(ATTEMPTS):
        try:
            with table.transaction() as tx:
                update = tx.update_snapshot(snapshot_properties={MAINTENANCE_KEY: "compaction"})
                with update.overwrite() as overwrite:
                    for f in old:
                        overwrite.delete_data_file(f)
                    overwrite.append_data_file(new)
            return True
        except (CommitFailedException, ValidationException) as e:
            report.conflicts += 1
            table.refresh()
            live = {f.file_path for f in live_files(table)}
            if any(f.file_path not in live for f in old):
                return False
            log.debug("%s: compaction commit retried (%s)", ".".join(table.name()), e)
            time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))
    return False


def _history(table: Table) -> list[Snapshot]:
    """The current snapshot and its ancestors, oldest first."""
    chain: list[Snapshot] = []
    snapshot = table.current_snapshot()
    while snapshot is not None:
        chain.append(snapshot)
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return chain[::-1]


def expire(table: Table, *, older_than: float, retain_last: int = 10, now: float | None = None) -> ExpireReport:
    """Expire the snapshots committed more than ``older_than`` seconds ago (keeping the newest ``retain_last``
    whatever their age), then delete the files only they used: their manifest lists, the manifests no kept
    snapshot lists, and the data files removed (by a compaction or a delete) at or before the oldest kept one.
    Tables with branches or tags other than ``main`` are left alone."""
    started = time.perf_counter()
    report = ExpireReport()
    table.refresh()
    if set(table.metadata.refs) - {MAIN_BRANCH}:
        log.warning("%s: has branches or tags; snapshots not expired", ".".join(table.name()))
        return report
    history = _history(table)
    cutoff_ms = int(((time.time() if now is None else now) - older_than) * 1000)
    keep_from = max(0, len(history) - max(retain_last, 1))
    first_kept = next((i for i, s in enumerate(history) if s.timestamp_ms >= cutoff_ms), len(history))
    keep_from = min(keep_from, first_kept)
    expired, kept = history[:keep_from], history[keep_from:]
    report.snapshots_kept = len(kept)
    if not expired:
        return report
    oldest = kept[0]
    kept_manifests = {m.manifest_path for m in oldest.manifests(table.io)}
    doomed: set[str] = set()
    for snapshot in [*expired, oldest]:
        for manifest in snapshot.manifests(table.io):
            if snapshot is not oldest and manifest.manifest_path not in kept_manifests:
                doomed.add(manifest.manifest_path)
            if manifest.added_snapshot_id != snapshot.snapshot_id or not manifest.deleted_files_count:
                continue
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                if entry.status == ManifestEntryStatus.DELETED:
                    doomed.add(entry.data_file.file_path)
        if snapshot is not oldest:
            doomed.add(snapshot.manifest_list)
    for attempt in range(ATTEMPTS):
        try:
            table.maintenance.expire_snapshots().by_ids([s.snapshot_id for s in expired]).commit()
            break
        except CommitFailedException:
            time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))
            table.refresh()
    else:
        log.warning("%s: snapshot expiry lost %d races; next time", ".".join(table.name()), ATTEMPTS)
        return report
    report.snapshots_expired = len(expired)
    for path in sorted(doomed):
        try:
            table.io.delete(path)
            report.files_deleted.append(path)
        except FileNotFoundError:
            pass
    report.seconds = time.perf_counter() - started
    log.info("%s: expired %d snapshots, deleted %d files in %.2f s", ".".join(table.name()), len(expired),
             len(report.files_deleted), report.seconds)  # fmt: skip
    return report


def remove_orphans(table: Table, *, older_than: float = 86_400.0) -> list[str]:
    """Delete the files under the table's ``data/`` and ``metadata/`` that no snapshot, manifest or metadata file
    refers to and that were last modified more than ``older_than`` seconds ago (a writer killed between writing a
    file and committing it leaves one; a younger file may belong to a commit in progress)."""
    table.refresh()
    known: set[str] = {table.metadata_location, *(e.metadata_file for e in table.metadata.metadata_log)}
    manifests: set[str] = set()
    for snapshot in table.snapshots():
        known.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in manifests:
                continue
            manifests.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                known.add(entry.data_file.file_path)
    known |= manifests
    known |= {f.statistics_path for f in table.metadata.statistics}
    known_paths = {_path_of(uri) for uri in known}
    root = Root(table.location().rstrip("/"), "table location")
    now = datetime.now(timezone.utc)
    removed: list[str] = []
    for sub in ("data", "metadata"):
        selector = pafs.FileSelector(f"{root.path}/{sub}", recursive=True, allow_not_found=True)
        for info in root.fs.get_file_info(selector):
            if info.type != pafs.FileType.File or info.path in known_paths:
                continue
            if info.mtime is not None and (now - info.mtime).total_seconds() <= older_than:
                continue
            root.fs.delete_file(info.path)
            removed.append(info.path)
    if removed:
        log.info("%s: deleted %d files no snapshot refers to", ".".join(table.name()), len(removed))
    return removed


def _path_of(uri: str) -> str:
    """``uri`` as its filesystem names it (``s3://b/k`` → ``b/k``, ``file:///p`` → ``/p``)."""
    return uri.split("://", 1)[1] if "://" in uri else uri
