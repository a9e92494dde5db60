"""Data files as the table knows them: an Iceberg entry made from a Parquet footer, and the files a snapshot holds."""

from __future__ import annotations

import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import (
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.typedef import Record

__all__ = ["data_file", "live_files"]


def data_file(metadata: TableMetadata, path: str, size: int, footer: pq.FileMetaData, partition: Record) -> DataFile:
    """The table's entry for the Parquet file at ``path`` (``size`` bytes, ``footer`` its metadata): its column
    statistics as pyiceberg's own writer computes them, in the table's current spec."""
    schema = metadata.schema()
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=footer,
        stats_columns=compute_statistics_plan(schema, metadata.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    entry = DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=partition,
        file_size_in_bytes=size,
        sort_order_id=None,
        equality_ids=None,
        key_metadata=None,
        **stats.to_serialized_dict(),
    )
    entry.spec_id = metadata.default_spec_id  # a property from_args does not take
    return entry


def live_files(table: Table, snapshot: Snapshot | None = None) -> list[DataFile]:
    """The data files ``snapshot`` (default: the current one) holds."""
    snapshot = snapshot or table.current_snapshot()
    if snapshot is None:
        return []
    return [
        entry.data_file
        for manifest in snapshot.manifests(table.io)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        if entry.data_file.content == DataFileContent.DATA
    ]
