"""The data lake: Parquet files under Hive-style date partitions, on local disk, GCS or S3."""

from streamlake_fast.lake.layout import LAKE_COLUMNS, lake_schema, open_root
from streamlake_fast.lake.sink import LakeSink
from streamlake_fast.lake.verify import LakeReport, verify_lake

__all__ = ["LAKE_COLUMNS", "LakeReport", "LakeSink", "lake_schema", "open_root", "verify_lake"]
