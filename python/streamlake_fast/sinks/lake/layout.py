"""Where lake files go and what they are called.

``ROOT/dt=YYYY-MM-DD/part-<created>-<first message id>-<rows>-<writer>.parquet``: the partition is the UTC date of
the event-time field (the publish time when the field is null or not configured); the name carries the first
message id and the row count, so files written twice after a crash can be found (``streamlake lake verify``).
Files are written under a hidden temporary name and made visible whole.
"""

from __future__ import annotations

import re
import time

import pyarrow as pa
import pyarrow.compute as pc

from streamlake_fast.codec.messages import METADATA_SCHEMA
from streamlake_fast.exceptions import ConfigError

__all__ = ["LAKE_COLUMNS", "NULL_PARTITION", "PARTITION_KEY", "file_name", "is_data_file", "lake_schema", "partitions"]

#: Columns every lake file carries besides the event's own: the Pub/Sub message id and the event's line in its
#: envelope (together, to find duplicates) and the publish time (the partition fallback).
LAKE_COLUMNS = ("message_id", "publish_time", "event_index")
PARTITION_KEY = "dt"
#: Hive's name for the partition of rows whose key is null (pyarrow.dataset and DuckDB read it back as null).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
FINGERPRINT_KEY = b"streamlake.schema_fingerprint"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def lake_schema(events: pa.Schema) -> pa.Schema:
    """The schema of lake files for events of schema ``events``: the event columns plus :data:`LAKE_COLUMNS`."""
    fields = list(events)
    for name in LAKE_COLUMNS:
        f = METADATA_SCHEMA.field(name)
        if name in events.names:
            if not events.field(name).type.equals(f.type):
                raise ConfigError(f"the events have a column {name!r} of type {events.field(name).type}; the lake "
                                  f"needs it as {f.type} (the message's {name})")  # fmt: skip
        else:
            fields.append(f)
    return pa.schema(fields)


def partitions(
    batch: pa.RecordBatch, partition_by: str | None, *, fallback: bool = True
) -> list[tuple[str, pa.RecordBatch]]:
    """Split ``batch`` by UTC date of ``partition_by`` (else of ``publish_time``): ``[(dir name, rows)]``. Rows
    with neither date (possible only when the events declare their own nullable ``publish_time``, which then
    takes precedence over the message's) go to Hive's null partition, :data:`NULL_PARTITION`. Without
    ``fallback``, rows whose ``partition_by`` is null go there too (a table format's ``day(column)``, where a
    partition value is the column's)."""
    published = pc.cast(batch.column("publish_time"), pa.date32())
    if partition_by is None:
        day = published
    else:
        col = batch.column(partition_by)
        day = col if pa.types.is_date32(col.type) else pc.cast(col, pa.date32())
        if day.null_count and fallback:
            day = pc.coalesce(day, published)
    if len(day) == 0:
        return []
    first = day[0]
    if first.is_valid and day.null_count == 0 and pc.all(pc.equal(day, first)).as_py():
        return [(_directory(first), batch)]  # the usual case: one day per batch
    out = [(_directory(d), batch.filter(pc.equal(day, d))) for d in pc.unique(day.drop_null()).sort()]
    if day.null_count:
        out.append((_directory(None), batch.filter(pc.is_null(day))))
    return out


def _directory(day: pa.Scalar | None) -> str:
    return f"{PARTITION_KEY}={day.as_py().isoformat() if day is not None else NULL_PARTITION}"


def file_name(first_message_id: str, rows: int, writer: str, created: float | None = None) -> str:
    """The visible name of a finished file."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(created if created is not None else time.time()))
    return f"part-{stamp}-{_UNSAFE.sub('_', first_message_id)[:64]}-{rows}-{writer}.parquet"


def is_data_file(base_name: str) -> bool:
    """Visible Parquet files; temporary (hidden) ones start with a dot."""
    return base_name.endswith(".parquet") and not base_name.startswith((".", "_"))
