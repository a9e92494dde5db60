"""End to end on the real emulators: publish receipts → `streamlake run` → BigQuery table + dead-letter topic."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA
from tests.servers.fixtures import Cloud
from tests.worker.helpers import expected_rows, publish_receipts, pull_all, run_worker, table_rows

E2E_EVENTS = int(os.environ.get("STREAMLAKE_E2E_EVENTS", "50000"))
COMPARED = ["event_id", "event_time", "customer_id", "store_id", "currency", "total", "coupon"]


def _comparable(table: pa.Table) -> list[dict[str, object]]:
    rows = table.select(COMPARED).sort_by("event_id").to_pylist()
    return rows


@pytest.mark.slow
def test_publish_run_table_holds_exactly_the_valid_events(cloud: Cloud) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    dlq_topic, dlq_sub = cloud.create_topic_and_subscription("dlq")
    table = cloud.create_table(RECEIPT_SCHEMA)
    pairs = publish_receipts(cloud, topic, E2E_EVENTS, invalid_fraction=0.01)

    done = run_worker(cloud, "--subscription", subscription, "--table", table, "--dead-letter-topic", dlq_topic,
                      "--max-rows", "20000")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[worker]" in done.stderr
    assert f"streamlake: Pub/Sub: emulator at {cloud.pubsub_host} (plaintext, anonymous)" in done.stderr

    landed = table_rows(cloud, table)
    want = expected_rows(pairs)
    assert landed.num_rows == want.num_rows == E2E_EVENTS - E2E_EVENTS // 100
    got, expected = _comparable(landed), _comparable(want)
    first = next((i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b), None)
    assert first is None, f"row {first}: {got[first]} != {expected[first]}"  # not a 49,500-row diff
    # nested columns too
    got_items = dict(zip(landed.column("event_id").to_pylist(), landed.column("items").to_pylist(), strict=True))
    want_items = zip(want.column("event_id").to_pylist(), want.column("items").to_pylist(), strict=True)
    for event_id, items in list(want_items)[:500]:
        assert got_items[event_id] == items

    dead = pull_all(cloud, dlq_sub)
    bad = {i: kind for i, (_, kind) in enumerate(pairs) if kind}
    assert len(dead) == len(bad)
    by_data = {pairs[i][0]: kind for i, kind in bad.items()}
    for m in dead:
        kind = by_data[m.message.data]
        attrs = m.message.attributes
        assert attrs["reason_code"] == INVALID_KINDS[kind]
        assert attrs["source"] == "test"
        assert attrs["schema_fingerprint"]
        assert attrs["message_id"] and attrs["subscription_name"] == subscription
        assert "message" in attrs and "path" in attrs

    assert pull_all(cloud, subscription, idle_seconds=5) == []  # drained


@pytest.mark.parametrize("mode", ["default", "committed"])
def test_metadata_columns_and_rejects_table(cloud: Cloud, mode: str) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    fields = [*RECEIPT_SCHEMA, {"name": "message_id", "type": "STRING"}, {"name": "publish_time", "type": "TIMESTAMP"},
              {"name": "attributes", "type": "JSON"}, {"name": "subscription_name", "type": "STRING"}]  # fmt: skip
    table = cloud.create_table(fields)
    pairs = publish_receipts(cloud, topic, 2000, invalid_fraction=0.02)

    done = run_worker(cloud, "--subscription", subscription, "--table", table, "--mode", mode)
    assert done.returncode == 0, done.stderr[-3000:]

    landed = table_rows(cloud, table)
    assert landed.num_rows == 1960
    assert set(landed.column("subscription_name").to_pylist()) == {subscription}
    assert len(set(landed.column("message_id").to_pylist())) == 1960
    assert all(t is not None for t in landed.column("publish_time").to_pylist())
    assert {str(a).replace(" ", "") for a in landed.column("attributes").to_pylist()} == {'{"source":"test"}'}

    rejects = table_rows(cloud, f"{table}_rejects")
    bad = [kind for _, kind in pairs if kind]
    assert rejects.num_rows == len(bad) == 40
    assert sorted(rejects.column("reason_code").to_pylist()) == sorted(INVALID_KINDS[k] for k in bad)
    raw = {m for m, kind in pairs if kind}
    assert set(rejects.column("data").to_pylist()) == raw
