"""Prometheus metrics: served over real HTTP from the worker's stats."""

from __future__ import annotations

import urllib.request

from streamlake_fast.worker import WorkerStats
from streamlake_fast.worker.metrics import MetricsExporter
from tests.servers.processes import free_port


def test_metrics_are_served_and_only_grow() -> None:
    exporter = MetricsExporter(free_port(), host="127.0.0.1")
    try:
        stats = WorkerStats(
            events=100, rows=99, rejects=1, in_flight=7, awaiting_durable=40, acked=60, duplicates_skipped=3
        )
        exporter.update(stats)
        stats.events = 250
        stats.in_flight = 0
        stats.awaiting_durable, stats.acked = 0, 250
        exporter.update(stats)
        text = urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5).read().decode()
    finally:
        exporter.close()
    assert "streamlake_events_total 250.0" in text
    assert "streamlake_rows_written_total 99.0" in text
    assert "streamlake_rejects_total 1.0" in text
    assert "streamlake_in_flight 0.0" in text
    assert "streamlake_awaiting_durable 0.0" in text
    assert "streamlake_acked_total 250.0" in text
    assert "streamlake_duplicates_skipped_total 3.0" in text


def test_a_routed_stream_has_its_figures_by_route_and_code() -> None:
    from collections import Counter

    from streamlake_fast.worker.router import RouteStats

    exporter = MetricsExporter(free_port(), host="127.0.0.1")
    try:
        iot = RouteStats(events=10, rows=9, rejects=Counter(unknown_field=1))
        stats = WorkerStats(events=10, routes={"iot": iot, "receipt": RouteStats()})
        exporter.update(stats)
        iot.events, iot.rows, iot.rejects["invalid_destination"] = 30, 27, 2
        exporter.update(stats)
        text = urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5).read().decode()
    finally:
        exporter.close()
    assert 'streamlake_route_events_total{route="iot"} 30.0' in text
    assert 'streamlake_route_rows_written_total{route="iot"} 27.0' in text
    assert 'streamlake_route_rejects_total{code="unknown_field",route="iot"} 1.0' in text
    assert 'streamlake_route_rejects_total{code="invalid_destination",route="iot"} 2.0' in text


def test_the_cost_per_million_events_is_a_gauge_by_service() -> None:
    from streamlake_fast.cost import Usage, load_prices

    exporter = MetricsExporter(free_port(), host="127.0.0.1")
    try:
        usage = Usage(events=1_000_000, pubsub_billed=1 << 40, plain_bytes=1 << 40)  # one TiB each
        usage.wrote("lake:/tmp/x", 10)
        exporter.update_cost(usage.cost(load_prices()))
        text = urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5).read().decode()
    finally:
        exporter.close()
    assert 'streamlake_cost_dollars_per_million_events{service="Pub/Sub"} 40.0' in text
    assert 'streamlake_cost_dollars_per_million_events{service="total"} 40.0' in text
    assert "streamlake_export_subscriptions_cost_dollars_per_million_events 50.0" in text  # one: the lake's
