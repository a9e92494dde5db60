"""Apache Iceberg tables (extra ``[iceberg]``): the worker's rows as Parquet data files committed to a table by
pyiceberg — a SQL catalog (SQLite, PostgreSQL) or a REST catalog, the warehouse on local disk, S3 or GCS."""

from streamlake_fast.extras import needs_extra

with needs_extra():
    from streamlake_fast.sinks.iceberg.catalog import open_catalog
    from streamlake_fast.sinks.iceberg.sink import IcebergSink
    from streamlake_fast.sinks.iceberg.types import arrow_for_iceberg, file_schema

__all__ = ["IcebergSink", "arrow_for_iceberg", "file_schema", "open_catalog"]
