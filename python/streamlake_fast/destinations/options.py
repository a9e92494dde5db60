"""The options of each destination: the codec that checks events for them, the lake's files, the table created
when missing, and how the table's schema is followed while events arrive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from streamlake_fast.exceptions import ConfigError

__all__ = ["CodecConfig", "CreateTableConfig", "IcebergConfig", "LakeConfig", "SchemaUpdateConfig"]

Positive = Annotated[int, msgspec.Meta(gt=0)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class CodecConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    unknown_fields: Literal["reject", "ignore"] = "reject"
    max_message_bytes: Positive = 10_000_000
    max_depth: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500  # nesting levels (1,000 at most: stack)
    redact_values: bool = False  # leave event values out of reject messages (personal data)
    envelope_dictionaries: list[str] = []  # zstd dictionary files envelopes may be compressed with


class LakeConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The data-lake sink; no ``root``, no lake."""

    root: str = ""  # a path, gs://bucket/prefix or s3://bucket/prefix
    partition_by: str | None = None  # a TIMESTAMP/DATETIME/DATE field; default: the publish time
    target_file_bytes: Positive = 128 << 20
    max_file_age: PositiveSeconds = 60.0
    max_open_files: Positive = 32  # files open at once (one per partition); a new one rolls the least recent
    compression: str = "zstd"


class IcebergConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The Iceberg sink; no ``table``, none. Partitioned by ``day(lake.partition_by)`` (else ``day(publish_time)``)."""

    table: str = ""  # NAMESPACE.TABLE, created when missing
    catalog: str = ""  # sqlite:///PATH, a SQLAlchemy URL (postgresql://…), or http(s):// (a REST catalog)
    warehouse: str = ""  # a path, s3://bucket/prefix or gs://bucket/prefix (a SQL catalog needs one)
    commit_interval: PositiveSeconds = 2.0  # seconds between commits: the rows' freshness and their ack latency
    commit_bytes: Positive = 256 << 20  # commit sooner once this many Parquet bytes wait
    target_file_bytes: Positive | None = None  # default: the table's write.target-file-size-bytes, else 128 MiB

    def check(self) -> None:
        if not self.table:
            return
        namespace, _, name = self.table.rpartition(".")
        if not namespace or not name:
            raise ConfigError(f"iceberg table {self.table!r}: expected NAMESPACE.TABLE")
        if not self.catalog:
            raise ConfigError("an Iceberg table needs its catalog: pass --catalog sqlite:///PATH (or postgresql://…, "
                              "https://… for a REST catalog)")  # fmt: skip


class CreateTableConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``--create-table``: create the table from ``schema`` when it is missing (the rejects table is always created
    when missing). Time partitioning on ``lake.partition_by`` when set, else on ingestion time."""

    enabled: bool = False
    partition_type: Literal["HOUR", "DAY", "MONTH", "YEAR"] = "DAY"
    partition_expiration_days: Annotated[float, msgspec.Meta(gt=0)] | None = None
    require_partition_filter: bool = False
    cluster_by: list[str] = msgspec.field(default_factory=list)  # up to 4 top-level columns
    metadata_columns: list[str] = msgspec.field(default_factory=list)  # e.g. ["message_id", "publish_time"]


class SchemaUpdateConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How the worker follows the table's schema while it runs (with a table).

    ``follow``: re-read the table's schema when a batch has ``unknown_field``/``missing_required`` rejects and every
    ``check_interval`` seconds; columns someone added are written from then on, no restart. ``add_columns``: the
    same, and the worker adds NULLABLE columns for unknown fields itself. ``off``: the schema read at start.
    """

    mode: Literal["off", "follow", "add_columns"] = "follow"
    check_interval: Annotated[float, msgspec.Meta(ge=0)] = 60.0  # seconds; 0: only when rejects call for it
    relax_required: bool = False  # REQUIRED columns the events leave out become NULLABLE (add_columns only)
    types_from: str | None = None  # a newer BigQuery schema file (the producer's): new columns' types from it
    numbers: Literal["FLOAT64", "NUMERIC"] = "FLOAT64"  # inferred type of non-integer numbers
    max_new_columns: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50  # columns one change adds at most
    max_columns: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 2000  # the table's columns, nested included
    objects: Literal["RECORD", "JSON"] = "RECORD"  # inferred type of JSON objects

    def check(self, has_table: bool) -> None:
        if self.relax_required and self.mode != "add_columns":
            raise ConfigError('schema_update.relax_required needs schema_update.mode = "add_columns"')
        if self.mode == "add_columns" and not has_table:
            raise ConfigError("schema_update add_columns needs a BigQuery table (--table)")
        if self.types_from and not Path(self.types_from).is_file():
            raise ConfigError(f"schema_update.types_from: schema file not found: {self.types_from}")
