"""Table maintenance on a real SQLite catalog and a warehouse on disk: compaction to the target size, snapshot expiry
with the files only expired snapshots used, files no snapshot knows — and all of it while the sink writes, with a
reader checking every snapshot it sees holds each committed row exactly once."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table
from pyiceberg.typedef import Record

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.local.generate import receipt_schema
from streamlake_fast.sinks.iceberg.background import Maintainer, MaintenancePolicy
from streamlake_fast.sinks.iceberg.catalog import another_catalog
from streamlake_fast.sinks.iceberg.files import live_files
from streamlake_fast.sinks.iceberg.maintenance import (
    MAINTENANCE_KEY,
    CompactReport,
    _replace,
    _rewrite,
    compact,
    expire,
    plan_compaction,
    remove_orphans,
)
from tests.sinks.iceberg.helpers import PUBLISHED, iceberg_sink, receipts_of
from tests.sinks.lake.helpers import lake_batch

DAY = 3600 * 24 * 1_000_000


def _ids(table: Table, snapshot_id: int | None = None) -> list[str]:
    return table.scan(snapshot_id=snapshot_id).to_arrow().column("message_id").to_pylist()


def _small_commits(tmp_path: Path, commits: int, rows: int = 50, days: int = 2) -> tuple[Table, list[str]]:
    """A table of ``commits`` commits of ``rows`` receipts, spread over ``days`` day partitions."""
    schema = receipt_schema()
    sink = iceberg_sink(tmp_path, schema, maintenance=None)
    receipts = receipts_of(commits * rows)
    for i in range(commits):
        published = PUBLISHED + (i % days) * DAY
        sink.write(lake_batch(schema, receipts[i * rows : (i + 1) * rows], i * rows, published))
        sink.flush()
    sink.close()
    table = sink.catalog.load_table("shop.events")
    return table, _ids(table)


def _file(path: str, size: int, partition: int, spec_id: int = 0) -> DataFile:
    f = DataFile.from_args(content=DataFileContent.DATA, file_path=path, file_format=FileFormat.PARQUET,
                           partition=Record(partition), record_count=1, file_size_in_bytes=size)  # fmt: skip
    f.spec_id = spec_id
    return f


def test_the_plan_packs_small_files_per_partition_up_to_the_target() -> None:
    files = [_file(f"a{i}", 30, 1) for i in range(6)] + [_file("big", 80, 1)]  # 80 is over 0.75 of 100: left alone
    files += [_file(f"b{i}", 10, 2) for i in range(4)]  # fewer than min_files: left alone
    files += [_file(f"c{i}", 10, 3, spec_id=1) for i in range(9)]  # another spec: left alone
    groups = plan_compaction(files, target_bytes=100, min_files=5, spec_id=0)
    assert sorted(len(g) for g in groups) == [3, 3]  # 30 + 30 + 30 ≤ 100
    assert all(f.partition == Record(1) for g in groups for f in g)
    assert plan_compaction([_file("x", 10, 1), _file("y", 95, 1)], 100, 2, 0) == []  # one small file: no group


def test_compaction_rewrites_each_partition_into_one_file_and_keeps_every_row(tmp_path: Path) -> None:
    table, before = _small_commits(tmp_path, commits=12)
    assert len(live_files(table)) == 12
    report = compact(table, target_bytes=64 << 20, min_files=2)
    assert (report.groups, report.files_removed, report.files_added, report.rows) == (2, 12, 2, 600)
    files = live_files(table)
    assert len(files) == 2 and {f.partition for f in files} == {Record(20416), Record(20417)}
    assert sorted(_ids(table)) == sorted(before) and len(set(before)) == 600
    current = table.current_snapshot()
    assert current is not None and current.summary is not None
    assert current.summary[MAINTENANCE_KEY] == "compaction" and current.summary["total-records"] == "600"
    for snapshot in table.snapshots():  # time travel still reads the small files, each row once
        ids = _ids(table, snapshot.snapshot_id)
        assert len(ids) == len(set(ids))
    assert compact(table, target_bytes=64 << 20, min_files=2).groups == 0  # nothing small left


def test_a_group_another_compaction_took_first_is_abandoned_and_its_file_deleted(tmp_path: Path) -> None:
    table, before = _small_commits(tmp_path, commits=4, days=1)
    group = live_files(table)
    stale = _rewrite(table, group, "zstd")
    assert compact(table, target_bytes=64 << 20, min_files=2).groups == 1  # someone else, first
    report = CompactReport()
    assert not _replace(table, group, stale, report) and report.conflicts == 1
    table.io.delete(stale.file_path)  # as compact() does with an abandoned group
    assert sorted(_ids(table)) == sorted(before) and len(live_files(table)) == 1


def test_expiry_deletes_only_what_the_kept_snapshots_do_not_use(tmp_path: Path) -> None:
    table, before = _small_commits(tmp_path, commits=6, days=1)
    compact(table, target_bytes=64 << 20, min_files=2)
    assert len(table.snapshots()) == 7
    data = tmp_path / "wh"
    on_disk = {p for p in data.rglob("*") if p.is_file() and not p.name.startswith(".")}
    report = expire(table, older_than=0, retain_last=2)  # the last append and the compaction are kept
    assert (report.snapshots_expired, report.snapshots_kept) == (5, 2)
    assert not any(f.endswith(".parquet") for f in report.files_deleted)  # the last append still reads them all
    assert sum(f.endswith(".avro") for f in report.files_deleted) >= 5  # the expired ones' manifest lists
    on_disk = {p for p in data.rglob("*") if p.is_file() and not p.name.startswith(".")}
    report = expire(table, older_than=0, retain_last=1)
    assert (report.snapshots_expired, report.snapshots_kept) == (1, 1)
    remaining = {p for p in data.rglob("*") if p.is_file() and not p.name.startswith(".")}
    deleted = {p for p in on_disk - remaining if p.suffix != ".json"}  # old metadata files go by pyiceberg's rule
    assert {str(p) for p in deleted} == {f.removeprefix("file://") for f in report.files_deleted}
    assert sum(p.suffix == ".parquet" for p in deleted) == 6  # the small files the compaction replaced
    assert {f.file_path for f in live_files(table)} <= {f"file://{p}" for p in remaining}
    for snapshot in table.snapshots():  # every kept snapshot still reads in full
        assert sorted(_ids(table, snapshot.snapshot_id)) == sorted(before)
    assert expire(table, older_than=3600, retain_last=1).snapshots_expired == 0  # all younger than an hour


def test_orphans_older_than_the_limit_are_deleted_and_nothing_a_snapshot_uses(tmp_path: Path) -> None:
    table, before = _small_commits(tmp_path, commits=3, days=1)
    directory = Path(live_files(table)[0].file_path.removeprefix("file://")).parent
    old, young = directory / "killed-before-commit.parquet", directory / "being-committed.parquet"
    for p in (old, young):
        pq.write_table(pa.table({"message_id": ["x"]}), p)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    removed = remove_orphans(table, older_than=3600)
    assert removed == [str(old)] and young.exists()
    assert sorted(_ids(table)) == sorted(before)


def test_snapshots_expire_more_often_than_files_are_compacted(tmp_path: Path) -> None:
    """Expiry is cheap and keeps the table metadata, which pyiceberg copies many times a commit, small; compaction
    rewrites data. So they run on their own clocks: here expiry every 0.1 s, compaction not within the test."""
    table, before = _small_commits(tmp_path, commits=8, days=1)
    assert len(table.snapshots()) == 8
    policy = MaintenancePolicy(interval=3600, expire_interval=0.1, min_files=2, snapshot_retention=0, retain_last=2)
    maintainer = Maintainer(table.catalog, "shop.events", policy)
    deadline = time.monotonic() + 30
    while not maintainer.snapshots_expired and time.monotonic() < deadline:
        time.sleep(0.05)
    maintainer.close()
    table.refresh()
    assert maintainer.snapshots_expired == 6 and len(table.snapshots()) == 2
    assert maintainer.files_compacted == 0 and len(live_files(table)) == 8  # small files left for compaction
    assert sorted(_ids(table)) == sorted(before)
    with pytest.raises(ConfigError, match="expire_interval"):
        MaintenancePolicy(expire_interval=0)


def test_maintenance_while_the_sink_writes_never_shows_a_missing_or_doubled_row(tmp_path: Path) -> None:
    """The sink commits every 50 ms and its maintainer compacts and expires every 0.2 s in its own thread, while a
    reader scans each new snapshot: each holds exactly the rows of the first k batches, k never decreasing."""
    schema = receipt_schema()
    policy = MaintenancePolicy(interval=0.2, min_files=2, snapshot_retention=0, retain_last=10)
    sink = iceberg_sink(tmp_path, schema, commit_interval=0.05, maintenance=policy)
    rows, batches = 20, 120
    receipts = receipts_of(rows * batches)
    done = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def reader() -> None:
        try:
            read()
        except Exception as e:  # a snapshot that cannot be read is a failure too
            problems.append(repr(e))

    def read() -> None:
        catalog = another_catalog(sink.catalog)
        last = None
        while not done.is_set() or last is None:
            table = catalog.load_table("shop.events")
            snapshot = table.current_snapshot()
            if snapshot is None or snapshot.snapshot_id == last:
                time.sleep(0.01)
                continue
            last = snapshot.snapshot_id
            ids = sorted(int(i) for i in _ids(table, last))
            if ids != list(range(len(ids))) or len(ids) % rows:
                problems.append(f"snapshot {last}: {len(ids)} rows, {len(set(ids))} distinct")
            if seen and len(ids) < seen[-1]:
                problems.append(f"snapshot {last}: {len(ids)} rows after {seen[-1]}")
            seen.append(len(ids))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(batches):
        sink.write(lake_batch(schema, receipts[i * rows : (i + 1) * rows], i * rows, PUBLISHED))
        time.sleep(0.01)
        sink.poll()
    sink.flush()
    deadline = time.monotonic() + 60  # a pass that wins its commit (under load, those during the writes may not)
    while (sink.maintainer is None or not sink.maintainer.files_compacted) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the reader sees the last snapshot
    done.set()
    thread.join()
    sink.close()
    assert problems == []
    assert sink.maintainer is not None and sink.maintainer.failures == 0
    assert sink.maintainer.files_compacted > 0 and sink.maintainer.snapshots_expired > 0
    table = sink.catalog.load_table("shop.events")
    assert sorted(int(i) for i in _ids(table)) == list(range(rows * batches))
    assert len(seen) > 10 and seen[-1] == rows * batches
    expire(table, older_than=0, retain_last=1)
    on_disk = {str(p) for p in (tmp_path / "wh").rglob("*.parquet") if not p.name.startswith(".")}
    assert on_disk == {f.file_path.removeprefix("file://") for f in live_files(table)}
