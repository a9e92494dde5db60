"""``--create-table``: the table made from the schema with partitioning, clustering and metadata columns; two
workers creating it at once; a worker run against a table that did not exist."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from streamlake_fast.codec.schema import Schema
from streamlake_fast.config import CreateTableConfig
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.local.generate import RECEIPT_SCHEMA
from streamlake_fast.transports.gcp.tables import create_table, table_fields, table_resource
from tests.servers.fixtures import PROJECT, Cloud
from tests.worker.helpers import expected_rows, publish_receipts, run_worker, table_rows

EVENTS = Schema.from_bigquery(RECEIPT_SCHEMA)
DATED = "must be a TIMESTAMP, DATE or DATETIME column"
CLUSTERABLE = "must be a top-level column of a clusterable type"


@pytest.mark.parametrize(
    ("options", "partition_by", "error"),
    [
        (CreateTableConfig(metadata_columns=["ack_id"]), None, "metadata column 'ack_id' is not one of"),
        (CreateTableConfig(), "customer_id", f"partition_by 'customer_id' {DATED} (INT64 REQUIRED)"),
        (CreateTableConfig(), "nope", f"partition_by 'nope' {DATED} (no such top-level column)"),
        (CreateTableConfig(cluster_by=["items"]), None, f"cluster_by 'items' {CLUSTERABLE} (RECORD REPEATED)"),
        (CreateTableConfig(cluster_by=["a", "b", "c", "d", "e"]), None, "at most 4 columns, got 5"),
    ],
)  # fmt: skip
def test_bad_table_options_are_named_before_bigquery_sees_them(
    options: CreateTableConfig, partition_by: str | None, error: str
) -> None:
    with pytest.raises(ConfigError, match=error.replace("(", r"\(").replace(")", r"\)")):
        table_fields(EVENTS, options, partition_by)


def test_metadata_columns_follow_the_event_columns() -> None:
    options = CreateTableConfig(metadata_columns=["message_id", "publish_time"])
    fields = table_fields(EVENTS, options, "event_time")
    assert [f["name"] for f in fields] == [f["name"] for f in RECEIPT_SCHEMA] + ["message_id", "publish_time"]
    assert fields[-1] == {"name": "publish_time", "type": "TIMESTAMP", "mode": "NULLABLE"}


def _dataset(cloud: Cloud) -> str:
    dataset = f"ds_{cloud.suffix}"
    cloud.bigquery().create_dataset(dataset, exists_ok=True)
    return f"{PROJECT}.{dataset}"


def test_created_table_has_partitioning_clustering_and_metadata_columns(cloud: Cloud) -> None:
    table = f"{_dataset(cloud)}.receipts"
    options = CreateTableConfig(partition_expiration_days=30, require_partition_filter=True,
                                cluster_by=["store_id", "currency"], metadata_columns=["message_id"])  # fmt: skip
    assert create_table(table, EVENTS, options, "event_time") is True
    assert create_table(table, EVENTS, options, "event_time") is False  # idempotent
    t = cloud.bigquery().get_table(table)
    assert [f.name for f in t.schema] == [f["name"] for f in RECEIPT_SCHEMA] + ["message_id"]
    assert t.time_partitioning.type_ == "DAY" and t.time_partitioning.field == "event_time"
    assert t.time_partitioning.expiration_ms == 30 * 86_400_000
    assert t.clustering_fields == ["store_id", "currency"]
    # bqemulator reads requirePartitionFilter only inside timePartitioning (its deprecated place) and drops the
    # table-level one BigQuery uses now: the request is checked instead.
    sent = table_resource(table, EVENTS, options, "event_time").to_api_repr()
    assert sent["requirePartitionFilter"] is True


def test_two_workers_creating_the_table_at_once_both_go_on(cloud: Cloud) -> None:
    table = f"{_dataset(cloud)}.receipts"
    results: list[bool | BaseException] = []

    def create() -> None:
        try:
            results.append(create_table(table, EVENTS, CreateTableConfig(), None))
        except BaseException as e:  # recorded, asserted below
            results.append(e)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results, key=str) == [False, False, False, True], results
    assert cloud.bigquery().get_table(table).time_partitioning.field is None  # ingestion time


def test_missing_dataset_is_a_clear_error_in_bounded_time(cloud: Cloud) -> None:
    # BigQuery answers 404 (→ "dataset … not found"); bqemulator answers 500, which is retried until the deadline
    # and then reported with the table's name.
    with pytest.raises(ConfigError, match=rf"cannot create table {PROJECT}\.no_such_ds\.t: "):
        create_table(f"{PROJECT}.no_such_ds.t", EVENTS, CreateTableConfig(), None, deadline=3.0)


def test_worker_creates_the_table_and_writes_to_it(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    table = f"{_dataset(cloud)}.receipts"
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    pairs = publish_receipts(cloud, topic, 300, invalid_fraction=0.0)
    done = run_worker(cloud, "--subscription", subscription, "--table", table, "--schema", str(schema),
                      "--create-table", "--partition-by", "event_time", "--cluster-by", "store_id",
                      "--metadata-columns", "message_id,publish_time")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    landed = table_rows(cloud, table)
    assert landed.num_rows == 300 and landed.column("message_id").null_count == 0
    want = expected_rows(pairs)
    assert sorted(landed.column("event_id").to_pylist()) == sorted(want.column("event_id").to_pylist())
