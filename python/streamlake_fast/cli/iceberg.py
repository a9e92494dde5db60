"""``streamlake lake verify --iceberg-table``, ``streamlake lake compact`` and ``streamlake lake expire``."""

from __future__ import annotations

import argparse
import json

from streamlake_fast.exceptions import ConfigError

__all__ = ["iceberg_command"]


def iceberg_command(args: argparse.Namespace) -> int:
    from pyiceberg.exceptions import NoSuchTableError

    from streamlake_fast.sinks.iceberg import open_catalog
    from streamlake_fast.sinks.iceberg.maintenance import compact, expire, remove_orphans
    from streamlake_fast.sinks.iceberg.verify import verify_iceberg

    if not args.catalog:
        raise ConfigError("an Iceberg table needs --catalog (sqlite:///PATH, a SQLAlchemy URL or http(s)://…)")
    name = args.iceberg_table
    try:
        table = open_catalog(args.catalog, warehouse=args.warehouse).load_table(name)
    except NoSuchTableError as e:
        raise ConfigError(f"no Iceberg table {name!r} in {args.catalog}") from e
    if args.lake_command == "verify":
        report = verify_iceberg(table)
        print(json.dumps(report.to_dict(), indent=2) if args.json else "\n".join(report.lines()))
        if report.unreadable:
            return 1
        return 1 if args.fail_on_duplicates and report.duplicate_ids else 0
    if args.lake_command == "compact":
        if args.min_files < 2 or (args.target_file_bytes is not None and args.target_file_bytes <= 0):
            raise ConfigError("--min-files must be at least 2 and --target-file-bytes positive")
        done = compact(table, target_bytes=args.target_file_bytes, min_files=args.min_files)
        print(f"{name}: {done.files_removed:,} files rewritten into {done.files_added:,} ({done.rows:,} rows, "
              f"{done.bytes_read:,} bytes) in {done.groups:,} commits, {done.seconds:.2f} s; "
              f"{done.conflicts} commits retried, {done.abandoned} groups left to another compaction")  # fmt: skip
        return 0
    if args.older_than < 0 or args.retain_last < 1:
        raise ConfigError("--older-than must be 0 or more and --retain-last at least 1")
    expired = expire(table, older_than=args.older_than, retain_last=args.retain_last)
    print(f"{name}: {expired.snapshots_expired:,} snapshots expired, {expired.snapshots_kept:,} kept; "
          f"{len(expired.files_deleted):,} files deleted")  # fmt: skip
    if args.orphans_older_than is not None:
        removed = remove_orphans(table, older_than=args.orphans_older_than)
        print(f"{name}: {len(removed):,} files no snapshot refers to deleted")
    return 0
