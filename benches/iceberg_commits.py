"""Iceberg commits as a table ages: ``COMMITS`` commits of ``ROWS`` receipts each into one day partition (a
second's worth each: the hour-equivalent of 1 s commits by default), a compaction every ``EVERY`` commits (the
default policy's 30 s) and a snapshot expiry every ``EXPIRE`` commits (its 10 s) between them, snapshots kept
``RETAIN`` commits' worth (its 30 s). Prints
the commit wall time at the start and at the 1,000th commit (medians of 20), and the data files in the partition
before and after each maintenance pass, against the minimum the target size allows.

Run: ``make bench-iceberg`` (``COMMITS=3600``)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from streamlake_fast.local.generate import receipt_batches, receipt_schema
from streamlake_fast.sinks.iceberg import IcebergSink
from streamlake_fast.sinks.iceberg.files import live_files
from streamlake_fast.sinks.iceberg.maintenance import compact, expire
from streamlake_fast.sinks.lake import lake_schema

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.sinks.lake.helpers import lake_batch

COMMITS = int(os.environ.get("COMMITS", "3600"))
ROWS = int(os.environ.get("ROWS", "100"))
EVERY = int(os.environ.get("EVERY", "30"))
EXPIRE = int(os.environ.get("EXPIRE", "10"))
RETAIN = int(os.environ.get("RETAIN", "30"))
PUBLISHED = 1_764_000_000_000_000


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="iceberg-bench-"))
    schema = receipt_schema()
    sink = IcebergSink("bench.receipts", catalog=f"sqlite:///{root}/catalog.db", warehouse=str(root / "wh"),
                       schema=lake_schema(schema.to_arrow()), maintenance=None)  # fmt: skip
    maintenance = sink.catalog.load_table("bench.receipts")
    (events,) = receipt_batches(ROWS * 10, ROWS * 10, seed=1, invalid_fraction=0)
    files_before: list[int] = []
    files_after: list[int] = []
    maintenance_seconds: list[float] = []
    expiry_seconds: list[float] = []
    started = time.perf_counter()
    for i in range(COMMITS):
        rows = [events[(i * ROWS + k) % len(events)] for k in range(ROWS)]
        sink.write(lake_batch(schema, rows, i * ROWS, PUBLISHED))
        sink.flush()
        if (i + 1) % EVERY == 0:
            maintenance.refresh()
            files_before.append(len(live_files(maintenance)))
            t = time.perf_counter()
            compact(maintenance, min_files=2)
            maintenance_seconds.append(time.perf_counter() - t)
            files_after.append(len(live_files(maintenance)))
        if (i + 1) % EXPIRE == 0:
            t = time.perf_counter()
            expire(maintenance, older_than=0, retain_last=RETAIN)
            expiry_seconds.append(time.perf_counter() - t)
    total = time.perf_counter() - started
    ms = [s * 1000 for s in sink.commit_seconds]
    first = statistics.median(ms[:20])
    at = min(1000, len(ms)) - 1
    thousandth = statistics.median(ms[max(0, at - 10) : at + 10])
    last = statistics.median(ms[-20:])
    table = sink.catalog.load_table("bench.receipts")
    nbytes = sum(f.file_size_in_bytes for f in live_files(table))
    target = int(table.properties.get("write.target-file-size-bytes", 128 << 20))
    print(f"{COMMITS:,} commits of {ROWS} receipts, a compaction every {EVERY} commits, an expiry every {EXPIRE}, "
          f"{RETAIN} snapshots kept ({total:.1f} s)")  # fmt: skip
    print(f"commit ms (median of 20): 1st {first:.1f}, 1,000th {thousandth:.1f} ({thousandth / first:.2f}x), "
          f"last {last:.1f} ({last / first:.2f}x); max {max(ms):.1f}")  # fmt: skip
    passes = maintenance_seconds
    print(f"compaction s: median {statistics.median(passes):.2f}, max {max(passes):.2f}; expiry s: median "
          f"{statistics.median(expiry_seconds):.2f}, max {max(expiry_seconds):.2f}")  # fmt: skip
    print(f"data files in the partition: before a pass max {max(files_before)}, after a pass max {max(files_after)}; "
          f"the minimum for {nbytes:,} bytes at target {target:,}: {max(1, -(-nbytes // target))}")  # fmt: skip
    print(f"snapshots kept: {len(table.snapshots())}; rows {table.scan().to_arrow().num_rows:,}")
    sink.close()


if __name__ == "__main__":
    main()
