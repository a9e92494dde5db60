"""A schema rollout as a user lives it, on bqemulator and the Pub/Sub emulator, the worker running throughout:
(a) producers add a field, the events are dead-lettered, someone adds the column, the worker writes it without a
restart and a replay brings the earlier ones home; (b) ``add_columns``: two workers on one subscription add the
columns themselves and nothing is dead-lettered; (c) a value conflicting with a column's type stays a reject."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

import pytest
from google.cloud import bigquery

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.codec.evolution import Inference
from streamlake_fast.destinations.schema_watch import SchemaWatch
from streamlake_fast.destinations.schemas import split_metadata
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.transports.gcp.tables import update_schema
from tests.servers.fixtures import Cloud
from tests.worker.helpers import Running, pull_all, table_rows

TIERS = ["bronze", "silver", "gold"]


def publish(cloud: Cloud, topic: str, first: int, n: int, **extra: object) -> dict[str, dict[str, object]]:
    """``n`` valid receipts (seeded by ``first``), each with the ``extra`` fields (a callable value is called
    with a random generator); returns event_id → the extra values sent."""
    rng = random.Random(first)
    sent: dict[str, dict[str, object]] = {}
    publisher = cloud.publisher()
    futures = []
    for data, _ in receipts(n, seed=first, invalid_fraction=0.0):
        event = json.loads(data)
        values = {k: v(rng) if callable(v) else v for k, v in extra.items()}
        event.update(values)
        sent[event["event_id"]] = values
        futures.append(publisher.publish(topic, json.dumps(event).encode(), source="till"))
    for f in futures:
        f.result(timeout=60)
    return sent


def wait_until(condition: Callable[[], bool], what: str, workers: list[Running], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, (
            f"timed out waiting for {what}: "
            + "".join(line for line in workers[0].lines if "[worker]" not in line)[-3000:]
        )
        time.sleep(0.5)


def by_id(cloud: Cloud, table: str, column: str) -> dict[str, object]:
    rows = table_rows(cloud, table)
    ids = rows.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicate event ids in the table"
    values = rows.column(column).to_pylist() if column in rows.schema.names else [None] * len(ids)
    return dict(zip(ids, values, strict=True))


@pytest.mark.slow
def test_a_column_added_by_hand_is_written_without_restart_and_replay_brings_the_rest_home(cloud: Cloud) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    dlq_topic, dlq_sub = cloud.create_topic_and_subscription("dlq")
    table = cloud.create_table(RECEIPT_SCHEMA)
    worker = Running(cloud, "--subscription", subscription, "--table", table, "--dead-letter-topic", dlq_topic,
                     "--max-latency", "0.5", "--schema-check-interval", "0", "--verbose")  # fmt: skip
    try:
        before = publish(cloud, topic, 1, 200)
        worker.wait_for_acked(200)
        early = publish(cloud, topic, 2, 150, loyalty_tier=lambda r: r.choice(TIERS))
        worker.wait_for_acked(350)
        assert set(by_id(cloud, table, "event_id")) == set(before)  # the new field's events: dead letters

        # ALTER TABLE … ADD COLUMN, as a user runs it. bqemulator applies the DDL to its stored table only, not
        # to the table's metadata the API serves (BigQuery has one table): the metadata is updated too.
        client = cloud.bigquery()
        client.query(f"ALTER TABLE `{table}` ADD COLUMN loyalty_tier STRING").result()
        t = client.get_table(table)
        t.schema = [*t.schema, bigquery.SchemaField("loyalty_tier", "STRING")]
        client.update_table(t, ["schema"])
        changed_at = time.monotonic()

        # Producers keep sending; within a bounded time the worker writes the new column (those rejected before it
        # looked at the table again are dead letters, brought home by the replay below).
        late: dict[str, dict[str, object]] = {}
        while not any(by_id(cloud, table, "loyalty_tier").values()):
            assert time.monotonic() - changed_at < 60, "".join(worker.lines[-20:])
            late |= publish(cloud, topic, 100 + len(late), 25, loyalty_tier=lambda r: r.choice(TIERS))
            time.sleep(1)
        picked_up = time.monotonic() - changed_at
        assert any("new columns loyalty_tier" in line for line in worker.lines), "".join(worker.lines[-20:])
        total = len(before) + len(early) + len(late)

        replay = subprocess.run(
            [sys.executable, "-m", "streamlake_fast.cli", "dead-letters", "replay", "--from-subscription", dlq_sub,
             "--to-topic", topic, "--code", "unknown_field"],
            env={"PUBSUB_EMULATOR_HOST": cloud.pubsub_host, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert replay.returncode == 0, replay.stderr
        assert "replayed: unknown_field " in replay.stdout, replay.stdout
        wait_until(lambda: len(by_id(cloud, table, "event_id")) == total, "the replayed events", [worker])
    finally:
        worker.proc.terminate()
    assert worker.wait() == 0, "".join(worker.lines[-30:])
    landed = by_id(cloud, table, "loyalty_tier")
    assert len(landed) == total
    for sent in (early, late):
        assert {k: landed[k] for k in sent} == {k: v["loyalty_tier"] for k, v in sent.items()}
    assert {landed[k] for k in before} == {None}
    assert pull_all(cloud, dlq_sub, idle_seconds=3) == []  # every dead letter went home
    assert picked_up < 60, picked_up


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2])
def test_add_columns_two_workers_add_them_and_a_type_conflict_stays_a_reject(cloud: Cloud, workers: int) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    dlq_topic, dlq_sub = cloud.create_topic_and_subscription("dlq")
    table = cloud.create_table(RECEIPT_SCHEMA)
    args = ("--subscription", subscription, "--table", table, "--dead-letter-topic", dlq_topic, "--max-latency",
            "0.5", "--max-rows", "100", "--schema-update", "add_columns", "--verbose")  # fmt: skip
    running = [Running(cloud, *args) for _ in range(workers)]
    try:
        before = publish(cloud, topic, 1, 200)
        wait_until(lambda: sum(w.acked() for w in running) >= 200, "the first events", running)
        new = publish(cloud, topic, 2, 400, loyalty_tier=lambda r: r.choice(TIERS),
                      points=lambda r: r.randrange(10_000), vip=lambda r: r.random() < 0.1)  # fmt: skip
        wait_until(lambda: sum(w.acked() for w in running) >= 600, "the new fields' events", running)
        conflict = publish(cloud, topic, 3, 20, points="lots")
        wait_until(lambda: sum(w.acked() for w in running) >= 620, "the conflicting events", running)
        # Both went on through the other's schema changes. (Not "both acked some": the emulator may hand every
        # message to one of them, and a worker's count shows only in its periodic progress line.)
        stopped = [w for w in running if w.proc.poll() is not None]
        assert not stopped, "".join(stopped[0].lines[-30:]) if stopped else ""
    finally:
        for w in running:
            w.proc.terminate()
    for w in running:
        assert w.wait() == 0, "".join(w.lines[-30:])
    fields = Schema.from_bigquery(list(cloud.bigquery().get_table(table).schema)).to_bigquery()
    columns = {f["name"]: (f["type"], f["mode"]) for f in fields}
    assert columns["loyalty_tier"] == ("STRING", "NULLABLE") and columns["points"] == ("INT64", "NULLABLE")
    assert columns["vip"] == ("BOOL", "NULLABLE")
    assert sum("adding loyalty_tier" in line for w in running for line in w.lines) >= 1
    rows = table_rows(cloud, table)
    assert rows.num_rows == 600 and len(set(rows.column("event_id").to_pylist())) == 600
    got = {r["event_id"]: r for r in rows.select(["event_id", "loyalty_tier", "points", "vip"]).to_pylist()}
    assert all(got[k]["loyalty_tier"] is None and got[k]["points"] is None for k in before)
    assert {k: (got[k]["loyalty_tier"], got[k]["points"], got[k]["vip"]) for k in new} == {
        k: (v["loyalty_tier"], v["points"], v["vip"]) for k, v in new.items()
    }
    dead = pull_all(cloud, dlq_sub, idle_seconds=3)
    assert sorted(json.loads(m.message.data)["event_id"] for m in dead) == sorted(conflict)
    assert {(m.message.attributes["reason_code"], m.message.attributes["path"]) for m in dead} == {
        ("invalid_value", "points")  # a string for INT64 is read as its digits, as BigQuery does
    }


def _watch_on(cloud: Cloud, fields: list[dict[str, str]], **options: object) -> tuple[str, SchemaWatch]:
    table = cloud.create_table(fields, name="small")
    schema = Schema.from_bigquery(fields)
    watch = SchemaWatch(table, schema, fetch=lambda: schema, update=partial(update_schema, table), **options)  # type: ignore[arg-type]
    return table, watch


def test_relax_required_on_bigquery(cloud: Cloud) -> None:
    fields = [{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64", "mode": "REQUIRED"}]
    table, watch = _watch_on(cloud, fields, add_columns=True, relax_required=True)
    messages = Messages.from_data([b'{"id": "a"}', b'{"n": 1}'])
    rejects = Codec(watch.current).decode(messages).rejects
    new = watch.check(messages, rejects)
    assert new is not None and [f["mode"] for f in new.to_bigquery()] == ["NULLABLE", "NULLABLE"]
    stored = Schema.from_bigquery(list(cloud.bigquery().get_table(table).schema))
    assert stored.fingerprint == new.fingerprint
    assert not Codec(new).decode(messages).rejects


def test_new_column_types_from_the_producers_schema(cloud: Cloud) -> None:
    fields = [{"name": "id", "type": "STRING", "mode": "REQUIRED"}]
    newer = [*fields, {"name": "at", "type": "TIMESTAMP", "mode": "NULLABLE"}]
    table, watch = _watch_on(cloud, fields, add_columns=True, inference=Inference(types_from=newer))
    messages = Messages.from_data([b'{"id": "a", "at": "2026-11-26T10:00:00Z", "other": 1}'])
    new = watch.check(messages, Codec(watch.current).decode(messages).rejects)
    assert new is not None and new.to_bigquery() == newer  # "other" is not in the producer's schema: left out
    assert [f.name for f in cloud.bigquery().get_table(table).schema] == ["id", "at"]


def test_add_columns_never_adds_a_metadata_or_refused_name_and_still_adds_the_rest(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    """Events that name a metadata column (``publish_time``: a worker that added it as STRING could never start
    again), or a key BigQuery refuses, leave those keys out; the good key beside them is still added, the table
    keeps opening, and each refused key is logged once, quoted."""
    fields = [{"name": "id", "type": "STRING", "mode": "REQUIRED"},
              {"name": "publish_time", "type": "TIMESTAMP", "mode": "NULLABLE"}]  # fmt: skip
    table, watch = _watch_on(cloud, fields, add_columns=True)
    events = [b'{"id": "a", "attributes": {"k": "v"}, "message_id": "m", "good": 1}',
              b'{"id": "b", "bad\\nname": 1, "_PARTITIONTIME": 2, "Good": 3}']  # fmt: skip
    messages = Messages.from_data(events)
    with caplog.at_level("WARNING"):
        new = watch.check(messages, Codec(watch.current).decode(messages).rejects)
        watch.check(messages, Codec(watch.current).decode(messages).rejects)  # the same keys again: not logged again
    assert new is not None and [f["name"] for f in new.to_bigquery()] == ["id", "publish_time", "good"]
    stored = Schema.from_bigquery(list(cloud.bigquery().get_table(table).schema))
    assert [f["name"] for f in stored.to_bigquery()] == ["id", "publish_time", "good"]
    data, metadata = split_metadata(stored)  # the worker's start-up check: it opens
    assert metadata == ("publish_time",) and [f["name"] for f in data.to_bigquery()] == ["id", "good"]
    refused = [r.getMessage() for r in caplog.records if "not adding" in r.getMessage()]
    assert len(refused) == 5 and "'bad\\nname'" in " ".join(refused) and "\n" not in " ".join(refused)
    assert watch.refused_columns == 5
