"""Routing: one stream of four event types (receipts, IoT readings, payments, game telemetry, interleaved message by
message) against the same events run as four single-type streams, worker CPU per event from memory into the lake
(no network: what routing costs is what is measured); and a template that fans out to 1,000 lake prefixes, with the
destinations opened per 100,000 events at two ``max_open`` bounds.

Run: ``make bench-route`` (200,000 events); CI runs it once on a small set as a smoke test.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import SUMMARY, Row

from streamlake_fast import Codec, Messages, Schema
from streamlake_fast.destinations import Destinations
from streamlake_fast.destinations.options import LakeConfig
from streamlake_fast.destinations.routes import Route, RoutingConfig
from streamlake_fast.local.mixed import MIXED_SCHEMAS, MIXED_TYPES, MixedEvent, mixed_events
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.sinks.lake import LakeSink, lake_schema
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.worker import Worker
from streamlake_fast.worker.router import Router

EVENTS = int(os.environ.get("STREAMLAKE_ROUTE_BENCH_EVENTS", "200000"))
DELIVERY = 1_000  # messages a delivery (production Pub/Sub's largest pull)
ROUNDS = 3


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _deliveries(events: list[MixedEvent]) -> list[Messages]:
    parts = [(e.data, e.attributes, str(i), 1_795_000_000_000_000, "") for i, e in enumerate(events)]
    return [Messages.from_parts(parts[i : i + DELIVERY]) for i in range(0, len(parts), DELIVERY)]


def _run(worker: Worker) -> tuple[float, Worker]:
    cpu = _cpu()
    worker.run()
    return _cpu() - cpu, worker


def _settings() -> dict[str, Any]:
    return {"exit_when_drained": True, "progress_interval": 3600, "max_rows": 20_000}


def _routed(root: Path, schemas: dict[str, str], deliveries: list[Messages]) -> tuple[float, Worker]:
    routes = [Route(name=k, attribute="type", value=k, schema=schemas[k]) for k in MIXED_TYPES]
    d = Destinations(lake=LakeConfig(root=str(root)), routes=routes)
    return _run(Worker(MemorySource(deliveries), routes=d, **_settings()))


def _single(root: Path, kind: str, deliveries: list[Messages]) -> tuple[float, Worker]:
    schema = Schema.from_bigquery(MIXED_SCHEMAS[kind])
    sink = LakeSink(str(root / kind), schema=lake_schema(schema.to_arrow()))
    worker = Worker(MemorySource(deliveries), [sink], Codec(schema), dead_letter=DeadLetterFiles(str(root)),
                    **_settings())  # fmt: skip
    return _run(worker)


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = {}
    for kind, fields in MIXED_SCHEMAS.items():
        path = tmp_path_factory.mktemp("schemas") / f"{kind}.json"
        path.write_text(json.dumps(fields))
        out[kind] = str(path)
    return out


def test_mixed_stream_costs_about_what_four_single_type_streams_do(schemas: dict[str, str]) -> None:
    """The same events, routed as one stream and run as four streams (one per type, in turns), best of the rounds."""
    events = mixed_events(EVENTS, invalid_fraction=0.01)
    mixed = _deliveries(events)
    by_type = {k: _deliveries([e for e in events if e.type == k]) for k in MIXED_TYPES}
    routed_best, singles_best = float("inf"), float("inf")
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as tmp:
            cpu, worker = _routed(Path(tmp), schemas, mixed)
            assert worker.stats.acked == len(events)
            routed_best = min(routed_best, cpu)
        with tempfile.TemporaryDirectory() as tmp:
            total = 0.0
            for kind, deliveries in by_type.items():
                cpu, worker = _single(Path(tmp), kind, deliveries)
                assert worker.stats.acked == sum(len(d) for d in deliveries)
                total += cpu
            singles_best = min(singles_best, total)
    ratio = routed_best / singles_best
    SUMMARY.route.append(Row("mixed", "four single-type streams", (singles_best, singles_best), len(events), "-"))
    SUMMARY.route.append(Row("mixed", "one routed stream", (routed_best, routed_best), len(events),
                             f"{ratio:.2f}x the single-type streams' CPU"))  # fmt: skip
    if EVENTS >= 100_000:  # the smoke run's few batches are dominated by start-up
        assert ratio <= 1.2, f"routing costs {ratio:.2f}x"


@pytest.mark.parametrize("max_open", [1_024, 100])
def test_a_template_fanning_out_to_1000_prefixes(schemas: dict[str, str], max_open: int) -> None:
    """Receipts with a ``store`` attribute of 1,000 values, one lake prefix each (``{attributes.store}``)."""
    events = [e for e in mixed_events(EVENTS, invalid_fraction=0) if e.type == "receipt"]
    parts = [(e.data, {"store": f"s{i % 1000:03d}"}, str(i), 1_795_000_000_000_000, "") for i, e in enumerate(events)]
    deliveries = [Messages.from_parts(parts[i : i + DELIVERY]) for i in range(0, len(parts), DELIVERY)]
    with tempfile.TemporaryDirectory() as tmp:
        d = Destinations(schema=schemas["receipt"], routing=RoutingConfig(max_open=max_open),
                         lake=LakeConfig(root=f"{tmp}/by_store/{{attributes.store}}"))  # fmt: skip
        cpu, worker = _run(Worker(MemorySource(deliveries), routes=d, **_settings()))
        router = worker.fanout
        assert isinstance(router, Router)
        assert worker.stats.acked == len(events) and len(router.cache) <= max_open
        prefixes = sum(1 for _ in Path(tmp, "by_store").iterdir())
        assert prefixes == min(1000, len(events))
    per_100k = router.cache.opened / len(events) * 100_000
    SUMMARY.route.append(Row(f"1,000 prefixes, max_open {max_open:,}", "one routed stream", (cpu, cpu), len(events),
                             f"{router.cache.opened:,} destinations opened ({per_100k:,.0f} per 100,000 events), "
                             f"{worker.stats.batches:,} batches"))  # fmt: skip
