"""``streamlake lake verify --iceberg-table``: an Iceberg table's current snapshot as the lake's report shows a lake —
rows, files and bytes per partition, duplicate message ids — and how many snapshots it keeps."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.table import Table

from streamlake_fast.sinks.iceberg.files import live_files
from streamlake_fast.sinks.lake.verify import LakeReport, PartitionReport, find_duplicates
from streamlake_fast.sinks.redeliveries import file_keys

__all__ = ["verify_iceberg"]


def verify_iceberg(table: Table, *, examples: int = 20) -> LakeReport:
    """Read the ``message_id`` column of every data file the current snapshot holds (and the files' counts from
    the table's metadata)."""
    table.refresh()
    report = LakeReport(f"iceberg:{'.'.join(table.name())}", snapshots=len(table.snapshots()))
    specs, schema = table.specs(), table.schema()
    ids: list[pa.Array] = []
    owners: list[str] = []
    for f in sorted(live_files(table), key=lambda f: f.file_path):
        spec = specs[f.spec_id]
        partition = spec.partition_to_path(f.partition, schema) if spec.fields else ""
        p = report.partitions.setdefault(partition, PartitionReport(partition))
        p.files += 1
        p.rows += f.record_count
        p.bytes += f.file_size_in_bytes
        name = f.file_path.rsplit("/", 1)[-1]
        try:
            with table.io.new_input(f.file_path).open() as stream:
                column = file_keys(pq.ParquetFile(stream))
        except (OSError, pa.ArrowException, KeyError) as e:
            report.unreadable[name] = str(e)
            continue
        if column is None:
            report.unreadable[name] = "no message_id column"
            continue
        ids.append(column)
        owners.append(f"{partition}/{name}" if partition else name)
    if ids:
        find_duplicates(report, ids, owners, examples)
    return report
