"""Maintenance beside the sink: a thread that compacts the table's small files every ``interval`` seconds and
expires its old snapshots every ``expire_interval`` (:mod:`~streamlake_fast.sinks.iceberg.maintenance`), through
its own catalog connection.
Ingestion never waits for it: the two only meet at the catalog, where a commit that lands second is retried on the
other's metadata. A failure is logged and counted, and tried again next time; it never reaches the worker."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from pyiceberg.catalog import Catalog

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.sinks.iceberg.catalog import another_catalog
from streamlake_fast.sinks.iceberg.maintenance import compact, expire

__all__ = ["Maintainer", "MaintenancePolicy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenancePolicy:
    """When and how far to maintain a table.

    :param interval: seconds between compactions.
    :param expire_interval: seconds between snapshot expiries (each compaction is followed by one too).
    :param target_file_bytes: compaction's target size (None: the table's ``write.target-file-size-bytes``).
    :param min_files: a partition is compacted once it has this many small files.
    :param snapshot_retention: snapshots older than this many seconds are expired...
    :param retain_last: ...except the newest this many.

    Short by default: pyiceberg copies the whole table metadata, every snapshot in it, about fifteen times per
    commit — measured at ~0.45 ms of commit time per snapshot kept (``make bench-iceberg``) — so a table committed
    every second that kept an hour of snapshots would spend 1.6 s on each commit. Raise both for time travel.
    Expiring every 10 s rather than with each compaction keeps 30 to 40 snapshots instead of 30 to 60 at 1 s commits
    (an expiry costs ~50 ms; a compaction rewrites data).
    """

    interval: float = 30.0
    expire_interval: float = 10.0
    target_file_bytes: int | None = None
    min_files: int = 5
    snapshot_retention: float = 30.0
    retain_last: int = 10

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.expire_interval <= 0:
            raise ConfigError(f"maintenance interval and expire_interval must be positive, got {self.interval}, "
                              f"{self.expire_interval}")  # fmt: skip


class Maintainer:
    """Runs :class:`MaintenancePolicy` on ``identifier`` in a daemon thread until :meth:`close`."""

    def __init__(self, catalog: Catalog, identifier: str, policy: MaintenancePolicy) -> None:
        self.policy = policy
        self.identifier = identifier
        self._catalog = another_catalog(catalog)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.passes = 0
        self.failures = 0
        self.files_compacted = 0  # small files rewritten away
        self.snapshots_expired = 0
        self.files_deleted = 0
        self._compacted_at = time.monotonic()  # the first compaction comes one interval after the start
        self._thread = threading.Thread(target=self._loop, name=f"iceberg-maintenance {identifier}", daemon=True)
        self._thread.start()

    def run_once(self, *, compaction: bool = True) -> None:
        """One pass now (in the caller's thread; the scheduled passes wait for it): a compaction (unless
        ``compaction`` is false), then an expiry."""
        with self._lock:
            table = self._catalog.load_table(self.identifier)
            p = self.policy
            if compaction:
                self._compacted_at = time.monotonic()
                compacted = compact(table, target_bytes=p.target_file_bytes, min_files=p.min_files)
                self.files_compacted += compacted.files_removed
            expired = expire(table, older_than=p.snapshot_retention, retain_last=p.retain_last)
            self.passes += 1
            self.snapshots_expired += expired.snapshots_expired
            self.files_deleted += len(expired.files_deleted)

    def _loop(self) -> None:
        p = self.policy
        tick = min(p.interval, p.expire_interval)
        while not self._stop.wait(tick):
            try:
                self.run_once(compaction=time.monotonic() - self._compacted_at >= p.interval - tick / 10)
            except Exception:  # the next pass tries again; ingestion is never stopped by maintenance
                self.failures += 1
                log.exception("iceberg:%s: maintenance failed; trying again in %.0f s", self.identifier, tick)

    def close(self) -> None:
        """Stop after the pass in progress, if any."""
        self._stop.set()
        self._thread.join()
