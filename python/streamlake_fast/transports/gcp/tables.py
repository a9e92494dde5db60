"""Creating the table the worker writes (``--create-table``): the events' columns, the metadata columns asked for,
time partitioning, clustering — checked here with a clear error before BigQuery sees it; and changing its columns
safely beside other workers (:func:`update_schema`)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from streamlake_fast.codec.messages import METADATA_BIGQUERY_TYPES
from streamlake_fast.codec.schema import BigQueryField, Schema
from streamlake_fast.destinations.options import CreateTableConfig
from streamlake_fast.destinations.schemas import events_of, split_metadata
from streamlake_fast.exceptions import ConfigError, SinkError
from streamlake_fast.transports.names import parse_table

__all__ = [
    "create_table",
    "events_schema",
    "split_metadata",
    "table_fields",
    "table_resource",
    "table_schema",
    "update_schema",
]

log = logging.getLogger(__name__)

_PARTITION_TYPES = ("TIMESTAMP", "DATE", "DATETIME")
#: Column types BigQuery can cluster on.
_CLUSTER_TYPES = ("STRING", "INT64", "NUMERIC", "BIGNUMERIC", "BOOL", "DATE", "DATETIME", "TIMESTAMP", "GEOGRAPHY")
_MS_PER_DAY = 86_400_000


def table_schema(table: str) -> Schema:
    """The table's schema, fetched once from BigQuery."""
    from streamlake_fast.transports.gcp.channels import bigquery_client

    project, dataset, name = parse_table(table)
    try:
        fields = bigquery_client(project).get_table(f"{project}.{dataset}.{name}").schema
    except Exception as e:  # NotFound, Forbidden, connection errors: all fatal at start-up
        raise ConfigError(f"cannot read the schema of table {table}: {e}") from e
    return Schema.from_bigquery(list(fields))


def events_schema(table: str, given: str | None = None) -> Schema:
    """The events' schema for ``table``: its columns minus the metadata columns; a ``given`` schema file must
    match them (raises :class:`ConfigError` naming each differing column)."""
    return events_of(table_schema(table), Schema.from_bigquery(given) if given else None, table)


def table_fields(events: Schema, options: CreateTableConfig, partition_by: str | None) -> list[BigQueryField]:
    """The new table's columns (the events', then the metadata columns asked for), after checking that the
    partitioning and clustering columns can be used."""
    fields = list(events.to_bigquery())
    names = {f["name"]: f for f in fields}
    for name in options.metadata_columns:
        if name not in METADATA_BIGQUERY_TYPES:
            raise ConfigError(f"metadata column {name!r} is not one of {sorted(METADATA_BIGQUERY_TYPES)}")
        if name in names:
            raise ConfigError(f"metadata column {name!r} is also an event field")
        field: BigQueryField = {"name": name, "type": METADATA_BIGQUERY_TYPES[name][0], "mode": "NULLABLE"}
        fields.append(field)
        names[name] = field
    if partition_by is not None:
        f = names.get(partition_by)
        if f is None or f["type"] not in _PARTITION_TYPES or f["mode"] == "REPEATED":
            got = f"{f['type']} {f['mode']}" if f else "no such top-level column"
            raise ConfigError(f"partition_by {partition_by!r} must be a TIMESTAMP, DATE or DATETIME column ({got})")
    if len(options.cluster_by) > 4:
        raise ConfigError(f"cluster_by: BigQuery clusters on at most 4 columns, got {len(options.cluster_by)}")
    for name in options.cluster_by:
        f = names.get(name)
        if f is None or f["type"] not in _CLUSTER_TYPES or f["mode"] == "REPEATED":
            got = f"{f['type']} {f['mode']}" if f else "no such top-level column"
            raise ConfigError(f"cluster_by {name!r} must be a top-level column of a clusterable type ({got})")
    return fields


def table_resource(table: str, events: Schema, options: CreateTableConfig, partition_by: str | None) -> Any:
    """The ``google.cloud.bigquery.Table`` to create (checked by :func:`table_fields`)."""
    from google.cloud import bigquery

    project, dataset, name = parse_table(table)
    fields = table_fields(events, options, partition_by)
    t = bigquery.Table(
        f"{project}.{dataset}.{name}", schema=[bigquery.SchemaField.from_api_repr(dict(f)) for f in fields]
    )
    expiration = options.partition_expiration_days
    t.time_partitioning = bigquery.TimePartitioning(
        type_=options.partition_type,
        field=partition_by,  # None: ingestion time (_PARTITIONTIME)
        expiration_ms=int(expiration * _MS_PER_DAY) if expiration else None,
    )
    t.require_partition_filter = options.require_partition_filter
    t.clustering_fields = options.cluster_by or None
    return t


def create_table(
    table: str, events: Schema, options: CreateTableConfig, partition_by: str | None, *, deadline: float = 60.0
) -> bool:
    """Create ``table`` unless it exists; True when this call created it. Two workers starting at once are safe:
    one creates it, the other sees it exists (and then checks its schema as for any existing table). Transient
    errors are retried for ``deadline`` seconds (the client's own default is 10 minutes)."""
    from google.api_core import exceptions as gexc
    from google.cloud import bigquery

    t = table_resource(table, events, options, partition_by)
    from streamlake_fast.transports.gcp.channels import bigquery_client

    client: Any = bigquery_client(t.project)
    try:
        client.create_table(t, retry=bigquery.DEFAULT_RETRY.with_deadline(deadline), timeout=min(30.0, deadline))
    except gexc.Conflict:
        log.info("table %s exists", table)
        return False
    except gexc.NotFound as e:
        raise ConfigError(f"cannot create table {table}: dataset {t.project}.{t.dataset_id} not found ({e})") from e
    except gexc.GoogleAPIError as e:  # refused, or still failing at the deadline
        raise ConfigError(f"cannot create table {table}: {e}") from e
    log.info("created table %s (%d columns, partitioned by %s)", table, len(t.schema), partition_by or "ingestion time")
    return True


def update_schema(
    table: str,
    change: Callable[[list[BigQueryField]], list[BigQueryField] | None],
    *,
    attempts: int = 5,
    deadline: float = 60.0,
) -> list[BigQueryField]:
    """Apply ``change`` to the table's columns until the table has what it asks for; returns the columns.

    ``change`` gets the columns as they are and returns the columns wanted, or None when nothing is missing. Each
    update is conditional on the table's etag (``If-Match``): when another worker changed the table in between,
    BigQuery refuses it (412) and ``change`` is applied again to the fresh columns — so two workers adding the
    same column converge, and a column one of them added is never overwritten by the other. Raises
    :class:`SinkError` when BigQuery refuses the change or the table keeps moving."""
    from google.api_core import exceptions as gexc
    from google.cloud import bigquery

    project, dataset, name = parse_table(table)
    from streamlake_fast.transports.gcp.channels import bigquery_client

    client: Any = bigquery_client(project)
    retry = bigquery.DEFAULT_RETRY.with_deadline(deadline)
    for attempt in range(attempts):
        try:
            t = client.get_table(f"{project}.{dataset}.{name}", retry=retry, timeout=min(30.0, deadline))
            fields = [f.to_api_repr() for f in t.schema]
            wanted = change(_canonical(fields))
            if wanted is None:
                return _canonical(fields)
            t.schema = [bigquery.SchemaField.from_api_repr(dict(f)) for f in wanted]
            client.update_table(t, ["schema"], retry=retry, timeout=min(30.0, deadline))
        except gexc.PreconditionFailed:  # changed by someone else since our read: read again
            log.info("table %s changed under update %d; reading it again", table, attempt + 1)
            time.sleep(random.uniform(0.05, 0.5))
        except gexc.GoogleAPIError as e:
            raise SinkError(f"cannot update the schema of {table}: {e}") from e
    raise SinkError(f"cannot update the schema of {table}: it changed under each of {attempts} attempts")


def _canonical(fields: list[dict[str, Any]]) -> list[BigQueryField]:
    """Fields as :meth:`Schema.to_bigquery` writes them (normalised type names, explicit modes)."""
    return Schema.from_bigquery(fields).to_bigquery()
