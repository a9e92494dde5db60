"""``streamlake demo --mixed``: one stream, many event types. Receipts, IoT readings, payments and game telemetry
interleaved message by message on one Pub/Sub topic (each marked by a ``type`` attribute; 1% invalid, 1% of a type
no route takes), one routed worker: each type to its own BigQuery table (created on first use) and its own lake
prefix partitioned by its own time column, the unknown type ``no_route`` dead letters. Ends with a summary per route.

On bqemulator the payments go to the lake only: it cannot create a BIGNUMERIC column (see the README's servers'
limits); against BigQuery a payments table would be one more ``table =`` line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from streamlake_fast.cli.demo import (
    CHUNK,
    PROJECT,
    DemoReport,
    Env,
    Publishing,
    count_table,
    prepare_lake,
    pubsub_path,
    query_lake,
    start_server,
)
from streamlake_fast.codec.messages import Messages
from streamlake_fast.destinations import CreateTableConfig, Destinations, LakeConfig
from streamlake_fast.destinations.routes import Route
from streamlake_fast.local import LocalServer, start_bigquery, start_pubsub
from streamlake_fast.local.mixed import MIXED_SCHEMAS, MIXED_TYPES, mixed_events
from streamlake_fast.sinks.lake import LakeReport, verify_lake
from streamlake_fast.sources.base import Source
from streamlake_fast.worker import Worker, WorkerStats

__all__ = ["MixedReport", "mixed_summary_lines", "run_mixed_demo"]

#: Each type's time column: its lake partitions and its table's time partitioning.
TIME_COLUMNS = {"receipt": "event_time", "iot": "ts", "payment": "created_at", "telemetry": "server_time"}
#: Each type's table in the demo's dataset.
TABLES = {"receipt": "receipts", "iot": "iot_readings", "payment": "payments", "telemetry": "telemetry"}
#: bqemulator cannot create a BIGNUMERIC column: these types go to the lake only there.
LAKE_ONLY = {"payment": "bqemulator cannot create a BIGNUMERIC column"}
UNKNOWN_FRACTION = 0.01


@dataclass
class MixedReport(DemoReport):
    tables: dict[str, str] = field(default_factory=dict)  # type → table ("" lake only)
    table_counts: dict[str, int] = field(default_factory=dict)
    lakes: dict[str, LakeReport] = field(default_factory=dict)  # type → its prefix's report
    dead_lettered: int = 0


def _publish_mixed(target: dict[str, str], env: dict[str, str], events: int, invalid_fraction: float, seed: int,
                   window: int, published: Any, consumed: Any) -> None:  # fmt: skip
    """The edge processor for the mixed stream (a process of its own): each event with its ``type`` attribute,
    through Google's publisher client, at most ``window`` events ahead of the worker."""
    os.environ.update(env)
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    settings = pubsub_v1.types.BatchSettings(max_messages=1000, max_bytes=4 << 20, max_latency=0.02)
    publisher = pubsub_v1.PublisherClient(batch_settings=settings)
    stream = mixed_events(events, seed=seed, invalid_fraction=invalid_fraction, unknown_fraction=UNKNOWN_FRACTION)
    for start in range(0, events, CHUNK):
        while published.value - consumed.value > window:
            time.sleep(0.02)
        chunk = stream[start : start + CHUNK]
        for f in [publisher.publish(target["topic"], e.data, **e.attributes) for e in chunk]:
            f.result(timeout=120)
        with published.get_lock():
            published.value += len(chunk)


def _destinations(lake: str, schemas: Path, dataset: str | None) -> tuple[Destinations, dict[str, str]]:
    """A route per type (its schema file written under ``schemas``), each with its table when there is BigQuery."""
    routes, tables = [], {}
    for kind in MIXED_TYPES:
        path = schemas / f"{kind}.json"
        path.write_text(json.dumps(MIXED_SCHEMAS[kind]))
        tables[kind] = f"{dataset}.{TABLES[kind]}" if dataset and kind not in LAKE_ONLY else ""
        routes.append(Route(name=kind, attribute="type", value=kind, schema=str(path), table=tables[kind],
                            partition_by=TIME_COLUMNS[kind]))  # fmt: skip
    create = CreateTableConfig(enabled=bool(dataset), metadata_columns=["message_id"])
    d = Destinations(lake=LakeConfig(root=lake, max_file_age=60.0), routes=routes, dead_letter_dir=lake,
                     create_table=create)  # fmt: skip
    return d, tables


def run_mixed_demo(
    events: int = 100_000,
    *,
    lake: str | Path = "lake",
    invalid_fraction: float = 0.01,
    seed: int = 42,
    use_emulators: bool = True,
    progress_interval: float = 5.0,
    progress: TextIO | None = None,
) -> MixedReport:
    """Run the routed pipeline on ``events`` mixed events; progress goes to ``progress`` (stderr)."""
    out = progress or sys.stderr

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    report = MixedReport(events)
    prepare_lake(Path(lake))
    pubsub = start_server("Pub/Sub emulator", start_pubsub, say) if use_emulators else None
    bigquery = start_server("BigQuery emulator", lambda: start_bigquery(PROJECT), say) if use_emulators else None
    servers: list[LocalServer] = [s for s in (pubsub, bigquery) if s is not None]
    env = {}
    if pubsub:
        env["PUBSUB_EMULATOR_HOST"] = pubsub.host
    if bigquery:
        env |= {"BIGQUERY_EMULATOR_HOST": bigquery.host, "BIGQUERY_STORAGE_EMULATOR_HOST": bigquery.extra_host}
    try:
        with Env(env), tempfile.TemporaryDirectory(prefix="streamlake-demo-schemas-") as schemas:
            dataset = None
            if bigquery:
                from streamlake_fast.transports.gcp.channels import bigquery_client

                dataset = f"{PROJECT}.demo"
                bigquery_client(PROJECT).create_dataset(dataset, exists_ok=True)
            d, report.tables = _destinations(str(lake), Path(schemas), dataset)
            for kind, why in LAKE_ONLY.items():
                if dataset:
                    say(f"route {kind}: lake only ({why})")
            source, publishing = _source(report, pubsub is not None, invalid_fraction, seed, say, progress_interval)
            say(f"worker: {source.name} → a route per type: " + ", ".join(
                f"{k} → {report.tables[k] or '-'} + {lake}/{k}" for k in MIXED_TYPES))  # fmt: skip
            worker = Worker(source, routes=d, exit_when_drained=publishing is None,
                            progress_interval=progress_interval, progress=out)  # fmt: skip
            if publishing is not None:
                publishing.start(worker)
            report.stats = worker.run()
            report.cost = worker.cost().line()
            if publishing is not None:
                publishing.finish()
            report.table_counts = {k: count_table(t) for k, t in report.tables.items() if t}
            report.lakes = {k: verify_lake(f"{lake}/{k}") for k in MIXED_TYPES}
            rejects = Path(lake) / "_rejects"
            report.dead_lettered = sum(len(p.read_text().splitlines()) for p in rejects.rglob("*.ndjson"))
            report.query, report.query_result = query_lake(f"{lake}/receipt")
    finally:
        for s in servers:
            s.stop()
    return report


def _source(report: MixedReport, pubsub: bool, invalid_fraction: float, seed: int, say: Any,
            interval: float) -> tuple[Source, Publishing | None]:  # fmt: skip
    if pubsub:
        return pubsub_path(report, "events", invalid_fraction, seed, say, interval, publisher=_publish_mixed)
    from streamlake_fast.sources.memory import MemorySource

    say(f"generating {report.events:,} mixed events for the in-process source ...")
    stream = mixed_events(report.events, seed=seed, invalid_fraction=invalid_fraction,
                          unknown_fraction=UNKNOWN_FRACTION)  # fmt: skip
    parts = [(e.data, e.attributes, f"m{i}", time.time_ns() // 1000, "") for i, e in enumerate(stream)]
    report.published = report.events
    batches = [Messages.from_parts(parts[i : i + CHUNK]) for i in range(0, len(parts), CHUNK)]
    return MemorySource(batches), None


def mixed_summary_lines(report: MixedReport) -> list[str]:
    s: WorkerStats | None = report.stats
    assert s is not None
    lines = [
        f"source:              {report.mode} ({report.published:,} events of {len(MIXED_TYPES)} types and an "
        "unknown one, on one stream)",
        f"worker:              {s.events:,} events in {s.busy:.1f} s = {s.events / max(s.busy, 1e-9):,.0f}/s",
        f"worker CPU:          {s.cpu / max(s.events, 1) * 1e6:.1f} µs/event ({s.cpu:.1f} CPU s)",
    ]
    for name, r in s.routes.items():
        lines.append(f"route {r.line(name)}")
        table = report.tables.get(name)
        if table:
            lines.append(f"  table {table}: COUNT(*) {report.table_counts.get(name, 0):,}")
        lake = report.lakes.get(name)
        if lake is not None:
            dup = "none" if not lake.duplicate_ids else f"{lake.duplicate_ids:,}"
            lines.append(f"  lake {lake.root}: {lake.rows:,} rows in {lake.files:,} files, "
                         f"{len(lake.partitions):,} partitions, duplicate message ids: {dup}")  # fmt: skip
    lines.append(f"rejects:             {s.rejects:,} (dead-lettered: {report.dead_lettered:,})")
    for code, n in sorted(s.reject_codes.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {code:<20} {n:,}")
    lines.append(f"destinations opened: {s.destinations_opened:,}")
    lines.append(f"acknowledged:        {s.acked:,}")
    if report.cost:
        lines.append(report.cost)
    lines.append(f"query ({report.query}):")
    lines += [f"  {row}" for row in report.query_result]
    return lines
