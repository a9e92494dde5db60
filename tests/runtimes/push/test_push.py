"""``streamlake push-handler`` as a real process, fed by a push subscription on the Pub/Sub emulator (which POSTs
each message over HTTP): the table and the lake hold exactly the valid events, the rejects are dead-lettered with
their reasons, and while BigQuery is unreachable the handler answers non-2xx so the emulator delivers again —
nothing lost, nothing twice."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA
from streamlake_fast.sinks.lake import verify_lake
from tests.http.helpers import Service
from tests.servers.fixtures import Cloud
from tests.servers.tcp_proxy import TcpProxy
from tests.worker.helpers import publish_receipts, pull_all, table_rows


def _wait(condition: Callable[[], bool], what: str, service: Service, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert service.proc.poll() is None, "".join(service.lines[-30:])
        assert time.monotonic() < deadline, f"timed out waiting for {what}: " + "".join(service.lines[-30:])
        time.sleep(1)


def _count(cloud: Cloud, table: str) -> int:
    return int(next(iter(cloud.bigquery().query(f"SELECT COUNT(*) AS n FROM `{table}`").result()))["n"])


@pytest.mark.slow
def test_push_deliveries_land_once_and_bigquery_outages_are_redelivered(cloud: Cloud, tmp_path: Path) -> None:
    topic = cloud.topic()
    cloud.publisher().create_topic(name=topic)
    table = cloud.create_table(RECEIPT_SCHEMA)
    proxy = TcpProxy(cloud.bigquery_grpc_host)
    lake = tmp_path / "lake"
    service = Service("push-handler", "--table", table, "--lake", str(lake), "--write-deadline", "2",
                      env={**cloud.env, "BIGQUERY_STORAGE_EMULATOR_HOST": proxy.host})  # fmt: skip
    cloud.subscriber().create_subscription(name=cloud.subscription(), topic=topic, ack_deadline_seconds=30,
                                           push_config={"push_endpoint": f"{service.url}/"})  # fmt: skip
    try:
        first = publish_receipts(cloud, topic, 300, invalid_fraction=0.02, seed=3)
        valid_first = sum(kind is None for _, kind in first)
        _wait(lambda: _count(cloud, table) == valid_first, "the first events", service)
        proxy.cut()
        second = publish_receipts(cloud, topic, 200, invalid_fraction=0.0, seed=4)
        _wait(lambda: any("not written" in line for line in service.lines), "a refused delivery", service, 60)
        proxy.restore()
        _wait(lambda: _count(cloud, table) == valid_first + len(second), "the redelivered events", service, 240)
    finally:
        proxy.restore()
        assert service.stop() == 0, "".join(service.lines[-30:])
        proxy.close()
    rows = table_rows(cloud, table)
    ids = rows.column("event_id").to_pylist()
    want = [json.loads(d)["event_id"] for d, kind in [*first, *second] if kind is None]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(want)  # every valid event, once
    report = verify_lake(str(lake))
    assert report.rows == len(want) and report.duplicate_ids == 0  # lake files visible before each 2xx
    rejects = table_rows(cloud, f"{table}_rejects").to_pylist()
    assert sorted(r["reason_code"] for r in rejects) == sorted(INVALID_KINDS[k] for _, k in first if k)
    assert {r["subscription_name"] for r in rejects} == {cloud.subscription()}
    assert all(r["message_id"] and r["data"] for r in rejects)


def test_unwrapped_deliveries_with_metadata_headers_to_the_lake(cloud: Cloud, tmp_path: Path) -> None:
    topic = cloud.topic()
    cloud.publisher().create_topic(name=topic)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    dead_topic = cloud.topic("dead")
    cloud.publisher().create_topic(name=dead_topic)
    dead_subscription = cloud.subscription("dead")
    cloud.subscriber().create_subscription(name=dead_subscription, topic=dead_topic)
    lake = tmp_path / "lake"
    service = Service("push-handler", "--lake", str(lake), "--schema", str(schema), "--push-no-wrapper",
                      "--push-attribute-header", "Source", "--dead-letter-topic", dead_topic,
                      env=cloud.env)  # fmt: skip
    push = {"push_endpoint": f"{service.url}/", "no_wrapper": {"write_metadata": True}}
    cloud.subscriber().create_subscription(name=cloud.subscription(), topic=topic, push_config=push)
    try:
        pairs = publish_receipts(cloud, topic, 100, invalid_fraction=0.05, seed=6)
        valid = [d for d, kind in pairs if kind is None]
        _wait(lambda: verify_lake(str(lake)).rows == len(valid), "the lake rows", service, 90)
        dead = pull_all(cloud, dead_subscription)
    finally:
        assert service.stop() == 0, "".join(service.lines[-30:])
    files = sorted(lake.rglob("*.parquet"))
    rows = pq.ParquetDataset([str(f) for f in files]).read().to_pylist()
    assert sorted(r["event_id"] for r in rows) == sorted(json.loads(d)["event_id"] for d in valid)
    assert all(r["message_id"] and r["publish_time"].year >= 2026 for r in rows)  # from the metadata headers
    # The attribute published with each message ("source": "test") came as a header and was kept, the HTTP headers
    # beside it were not: a dead letter carries its message's attributes.
    assert sorted(m.message.data for m in dead) == sorted(d for d, kind in pairs if kind is not None)
    assert all(m.message.attributes["source"] == "test" for m in dead), dead[0].message
    assert not any("user-agent" in m.message.attributes for m in dead)


def test_a_templated_lake_routes_each_delivery_to_its_prefix(cloud: Cloud, tmp_path: Path) -> None:
    """The single-route case by flags: ``--lake ROOT/{field.currency}``, one prefix per currency, rejects under
    the template's literal start."""
    topic = cloud.topic()
    cloud.publisher().create_topic(name=topic)
    schema = tmp_path / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    lake = tmp_path / "lake"
    service = Service("push-handler", "--lake", f"{lake}/{{field.currency}}", "--schema", str(schema), env=cloud.env)
    cloud.subscriber().create_subscription(name=cloud.subscription(), topic=topic,
                                           push_config={"push_endpoint": f"{service.url}/"})  # fmt: skip
    try:
        pairs = publish_receipts(cloud, topic, 200, invalid_fraction=0.05, seed=8)
        valid = [json.loads(d) for d, kind in pairs if kind is None]
        _wait(lambda: sum(1 for _ in lake.rglob("*.ndjson")) > 0
              and verify_lake(str(lake)).rows == len(valid), "the lake rows", service, 90)  # fmt: skip
    finally:
        assert service.stop() == 0, "".join(service.lines[-30:])
    currencies = {e["currency"] for e in valid}
    assert sorted(p.name for p in lake.iterdir() if p.name != "_rejects") == sorted(currencies)
    for currency in currencies:
        rows = pq.ParquetDataset([str(f) for f in (lake / currency).rglob("*.parquet")]).read().to_pylist()
        assert sorted(r["event_id"] for r in rows) == sorted(e["event_id"] for e in valid if e["currency"] == currency)
    rejects = [json.loads(line) for f in (lake / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()]
    assert len(rejects) == sum(kind is not None for _, kind in pairs)
