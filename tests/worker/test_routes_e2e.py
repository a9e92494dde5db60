"""Routes end to end on the real emulators: four event types mixed on one Pub/Sub topic, 1% invalid, some of a
type no route takes → `streamlake run --config` → a BigQuery table (created per route) and a lake prefix per type;
the unknown ones are `no_route` dead letters; a kill -9 mid-run loses nothing."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from streamlake_fast.local.mixed import MIXED_SCHEMAS, MIXED_TYPES, UNKNOWN_TYPE, MixedEvent, mixed_events
from tests.servers.fixtures import Cloud
from tests.sinks.lake.helpers import read_lake
from tests.worker.helpers import Running, run_worker, table_rows

EVENTS = 4_000


def _publish(cloud: Cloud, topic: str, events: list[MixedEvent]) -> list[str]:
    publisher = cloud.publisher()
    futures = [publisher.publish(topic, e.data, **e.attributes) for e in events]
    return [f.result(timeout=120) for f in futures]


def _config(cloud: Cloud, tmp_path: Path, subscription: str) -> tuple[Path, dict[str, str]]:
    tables = {}
    lines = [f'subscription = "{subscription}"', f'lake = {{ root = "{tmp_path / "lake"}" }}',
             "create_table = { enabled = true, metadata_columns = [\"message_id\"] }", ""]  # fmt: skip
    dataset = cloud.create_table([{"name": "x", "type": "STRING"}], "unused").rsplit(".", 1)[0]
    for kind in MIXED_TYPES:
        schema = tmp_path / f"{kind}.json"
        schema.write_text(json.dumps(MIXED_SCHEMAS[kind]))
        # bqemulator cannot create a BIGNUMERIC column (500): the payments go to the lake only here.
        tables[kind] = f"{dataset}.{kind}s" if kind != "payment" else ""
        lines += ["[[routes]]", f'name = "{kind}"', 'attribute = "type"', f'value = "{kind}"',
                  f'schema = "{schema}"', f'table = "{tables[kind]}"', ""]  # fmt: skip
    path = tmp_path / "routes.toml"
    path.write_text("\n".join(lines))
    return path, tables


def _check_landed(cloud: Cloud, tmp_path: Path, tables: dict[str, str], events: list[MixedEvent], ids: list[str],
                  *, exactly_once: bool) -> None:  # fmt: skip
    for kind in MIXED_TYPES:
        want = Counter(i for i, e in zip(ids, events, strict=True) if e.type == kind and e.valid)
        landed_in = [("lake", read_lake(tmp_path / "lake" / kind))]
        if tables[kind]:
            landed_in.append(("table", table_rows(cloud, tables[kind])))
        for where, landed in landed_in:
            got = Counter(landed.column("message_id").to_pylist())
            assert set(got) == set(want), f"{kind} {where}: {len(set(want) - set(got))} missing, " \
                                          f"{len(set(got) - set(want))} not of this type"  # fmt: skip
            if exactly_once:
                assert got == want, f"{kind} {where}: duplicates"
    dead = [json.loads(line) for p in (tmp_path / "lake" / "_rejects").rglob("*.ndjson")
            for line in p.read_text().splitlines()]  # fmt: skip
    by_code: dict[str, set[str]] = {}
    for r in dead:
        by_code.setdefault(str(r["reason_code"]), set()).add(str(r["message_id"]))
    assert by_code["no_route"] == {i for i, e in zip(ids, events, strict=True) if e.type == UNKNOWN_TYPE}
    assert by_code["unknown_field"] == {i for i, e in zip(ids, events, strict=True)
                                        if not e.valid and e.type != UNKNOWN_TYPE}  # fmt: skip


def test_four_types_on_one_topic_each_to_its_table_and_prefix(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    events = mixed_events(EVENTS, invalid_fraction=0.01, unknown_fraction=0.01)
    ids = _publish(cloud, topic, events)
    config, tables = _config(cloud, tmp_path, subscription)
    done = run_worker(cloud, "--config", str(config), "--max-rows", "500")
    assert done.returncode == 0, done.stderr[-3000:]
    _check_landed(cloud, tmp_path, tables, events, ids, exactly_once=True)
    for kind in MIXED_TYPES:  # the summary, per route
        valid = sum(e.type == kind and e.valid for e in events)
        assert f"route {kind}: {sum(e.type == kind for e in events):,} events, {valid:,} rows" in done.stderr
    assert "destinations opened 4" in done.stderr


@pytest.mark.slow
def test_kill_9_mid_run_of_a_routed_stream_loses_nothing(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription(ack_deadline=10)
    events = mixed_events(EVENTS, invalid_fraction=0.01, unknown_fraction=0.01, seed=3)
    ids = _publish(cloud, topic, events)
    config, tables = _config(cloud, tmp_path, subscription)
    first = Running(cloud, "--config", str(config), "--max-rows", "200")
    first.wait_for_acked(EVENTS // 4)
    first.proc.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(12)  # the killed worker's leases lapse
    done = run_worker(cloud, "--config", str(config), "--max-rows", "200", "--ack-deadline", "10")
    assert done.returncode == 0, done.stderr[-3000:]
    _check_landed(cloud, tmp_path, tables, events, ids, exactly_once=False)
