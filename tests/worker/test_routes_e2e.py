"""Routes end to end on the real emulators: four event types mixed on one Pub/Sub topic, 1% invalid, some of a
type no route takes → `streamlake run --config` → a BigQuery table (created per route) and a lake prefix per type;
the unknown ones are `no_route` dead letters; a kill -9 mid-run loses nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from streamlake_fast.local.mixed import MIXED_TYPES, mixed_events
from tests.servers.fixtures import Cloud
from tests.worker.helpers import Running, run_worker
from tests.worker.routes import check_routed, publish_mixed, routes_config

EVENTS = 4_000


def test_four_types_on_one_topic_each_to_its_table_and_prefix(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription()
    events = mixed_events(EVENTS, invalid_fraction=0.01, unknown_fraction=0.01)
    ids = publish_mixed(cloud, topic, events)
    config, tables = routes_config(cloud, tmp_path, subscription)
    done = run_worker(cloud, "--config", str(config), "--max-rows", "500")
    assert done.returncode == 0, done.stderr[-3000:]
    check_routed(cloud, tmp_path, tables, events, ids, exactly_once=True)
    for kind in MIXED_TYPES:  # the summary, per route
        valid = sum(e.type == kind and e.valid for e in events)
        assert f"route {kind}: {sum(e.type == kind for e in events):,} events, {valid:,} rows" in done.stderr
    assert "destinations opened 4" in done.stderr


@pytest.mark.slow
def test_kill_9_mid_run_of_a_routed_stream_loses_nothing(cloud: Cloud, tmp_path: Path) -> None:
    topic, subscription = cloud.create_topic_and_subscription(ack_deadline=10)
    events = mixed_events(EVENTS, invalid_fraction=0.01, unknown_fraction=0.01, seed=3)
    ids = publish_mixed(cloud, topic, events)
    config, tables = routes_config(cloud, tmp_path, subscription)
    first = Running(cloud, "--config", str(config), "--max-rows", "200")
    first.wait_for_acked(EVENTS // 4)
    first.proc.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(12)  # the killed worker's leases lapse
    done = run_worker(cloud, "--config", str(config), "--max-rows", "200", "--ack-deadline", "10")
    assert done.returncode == 0, done.stderr[-3000:]
    check_routed(cloud, tmp_path, tables, events, ids, exactly_once=False)
