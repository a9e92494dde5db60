"""The data lake: Parquet files under Hive-style date partitions, on local disk, GCS or S3."""

from streamlake_fast.sinks.lake.layout import LAKE_COLUMNS, lake_schema
from streamlake_fast.sinks.lake.sink import LakeSink
from streamlake_fast.sinks.lake.verify import LakeReport, verify_lake

__all__ = ["LAKE_COLUMNS", "LakeReport", "LakeSink", "lake_schema", "verify_lake"]
