"""Benchmark data (deterministic receipts, clean and with 1% bad rows) and the summary table printed at the end."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from streamlake_fast.local.generate import receipts

EVENTS = int(os.environ.get("STREAMLAKE_BENCH_EVENTS", "1000000"))


def server_or_skip(start: Any, *args: Any) -> Any:
    """``start(*args)``: a local server; when it cannot start, the benchmark is skipped (a failure under CI=true)."""
    from tests.servers.processes import ServerUnavailable

    try:
        return start(*args)
    except ServerUnavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))


DATASETS = {"clean": 0.0, "dirty 1%": 0.01}


@dataclass
class Dataset:
    name: str
    messages: list[bytes]
    kinds: list[str | None]
    ndjson: bytes
    path: Path
    reference: pa.Table | None = None

    @property
    def n(self) -> int:
        return len(self.messages)

    @property
    def n_invalid(self) -> int:
        return sum(k is not None for k in self.kinds)


@dataclass
class Row:
    dataset: str
    implementation: str
    seconds: tuple[float, float] | None  # (min, median) over the rounds
    rows: int | None
    outcome: str


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)
    worker: list[Row] = field(default_factory=list)
    lake: list[Row] = field(default_factory=list)
    sqs: list[Row] = field(default_factory=list)
    beam: list[Row] = field(default_factory=list)
    http: list[Row] = field(default_factory=list)
    route: list[Row] = field(default_factory=list)


SUMMARY = Summary()


@pytest.fixture(scope="session")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    out = {}
    for name, bad in DATASETS.items():
        pairs = list(receipts(EVENTS, seed=7, invalid_fraction=bad))
        messages = [m for m, _ in pairs]
        ndjson = b"\n".join(messages)
        path = tmp_path_factory.mktemp("bench") / f"{name.split()[0]}.ndjson"
        path.write_bytes(ndjson)
        out[name] = Dataset(name, messages, [k for _, k in pairs], ndjson, path)
    return out


def _pipeline_summary(tr: pytest.TerminalReporter, title: str, rows: list[Row], events: int) -> None:
    """CPU per event of each pipeline, and how much less than the baseline's (the row named ``baseline ...``)."""
    tr.write_sep("=", title)
    tr.write_line("| pipeline | CPU µs/event | vs baseline | rows written | throughput |")
    tr.write_line("|---|---:|---:|---:|---|")
    base = next((r.seconds[0] for r in rows if r.implementation.startswith("baseline") and r.seconds), None)
    for r in rows:
        if not r.seconds:
            continue
        us = r.seconds[0] / events * 1e6
        ratio = f"{base / r.seconds[0]:.1f}x less CPU" if base and not r.implementation.startswith("baseline") else "-"
        tr.write_line(f"| {r.implementation} | {us:.1f} | {ratio} | {r.rows:,} | {r.outcome} |")


def _worker_summary(tr: pytest.TerminalReporter) -> None:
    from test_worker_bench import EVENTS as WORKER_EVENTS

    title = f"worker CPU per event, {WORKER_EVENTS:,} receipts end to end (emulators' CPU excluded)"
    _pipeline_summary(tr, title, SUMMARY.worker, WORKER_EVENTS)


def _sqs_summary(tr: pytest.TerminalReporter) -> None:
    from test_sqs_bench import EVENTS as SQS_EVENTS

    title = f"SQS → lake CPU per event, {SQS_EVENTS:,} receipts end to end (moto's CPU excluded)"
    _pipeline_summary(tr, title, SUMMARY.sqs, SQS_EVENTS)


def _beam_summary(tr: pytest.TerminalReporter) -> None:
    from test_beam_bench import EVENTS as BEAM_EVENTS

    runner = next((r for r in SUMMARY.beam if r.implementation.startswith("runner")), None)
    title = f"Beam DirectRunner (batch), {BEAM_EVENTS:,} receipts from memory into bqemulator (its CPU excluded)"
    tr.write_sep("=", title)
    tr.write_line(
        "| pipeline | CPU µs/event | transforms µs/event (runner's cost taken off) | vs baseline | throughput |"
    )
    tr.write_line("|---|---:|---:|---:|---|")
    overhead = runner.seconds[0] if runner and runner.seconds else 0.0
    net = {r.implementation: max(r.seconds[0] - overhead, 1e-9) for r in SUMMARY.beam if r.seconds}
    base = next((v for k, v in net.items() if k.startswith("baseline")), None)
    for r in SUMMARY.beam:
        if not r.seconds:
            continue
        us = r.seconds[0] / BEAM_EVENTS * 1e6
        if r is runner:
            tr.write_line(f"| {r.implementation} | {us:.1f} | - | - | {r.outcome} |")
            continue
        mine = net[r.implementation]
        ratio = f"{base / mine:.1f}x less CPU" if base and not r.implementation.startswith("baseline") else "-"
        tr.write_line(f"| {r.implementation} | {us:.1f} | {mine / BEAM_EVENTS * 1e6:.1f} | {ratio} | {r.outcome} |")


def _lake_summary(tr: pytest.TerminalReporter) -> None:
    from test_lake_bench import EVENTS as LAKE_EVENTS

    tr.write_sep("=", f"write {LAKE_EVENTS:,} decoded receipts as zstd Parquet partitioned by day (best of the rounds)")
    tr.write_line("| writer | µs/event | events/s | vs pyarrow.dataset | Parquet bytes/event |")
    tr.write_line("|---|---:|---:|---:|---:|")
    base = next((r.seconds[0] for r in SUMMARY.lake if r.implementation.startswith("pyarrow") and r.seconds), None)
    for r in sorted(SUMMARY.lake, key=lambda r: r.seconds[0] if r.seconds else 1e9):
        if not r.seconds:
            tr.write_line(f"| {r.implementation} | - | - | - | {r.outcome} |")
            continue
        ratio = f"{base / r.seconds[0]:.2f}x" if base else "-"
        us = r.seconds[0] / LAKE_EVENTS * 1e6
        tr.write_line(f"| {r.implementation} | {us:.2f} | {LAKE_EVENTS / r.seconds[0]:,.0f} | {ratio} | {r.outcome} |")


def _http_summary(tr: pytest.TerminalReporter) -> None:
    tr.write_sep(
        "=",
        "HTTP services: server CPU per event (the server's process tree; the load generator and emulators excluded)",
    )
    tr.write_line("| requests | server | server CPU µs/event | events | throughput |")
    tr.write_line("|---|---|---:|---:|---|")
    for r in SUMMARY.http:
        if r.seconds and r.rows:
            tr.write_line(
                f"| {r.dataset} | {r.implementation} | {r.seconds[0] / r.rows * 1e6:.1f} | {r.rows:,} | {r.outcome} |"
            )


def _route_summary(tr: pytest.TerminalReporter) -> None:
    tr.write_sep("=", "routing: worker CPU per event from memory into the lake (benches/test_route_bench.py)")
    tr.write_line("| stream | run as | CPU µs/event | events | outcome |")
    tr.write_line("|---|---|---:|---:|---|")
    for r in SUMMARY.route:
        assert r.seconds is not None and r.rows
        tr.write_line(f"| {r.dataset} | {r.implementation} | {r.seconds[0] / r.rows * 1e6:.1f} | {r.rows:,} | "
                      f"{r.outcome} |")  # fmt: skip


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY.route:
        _route_summary(terminalreporter)
    if SUMMARY.http:
        _http_summary(terminalreporter)
    if SUMMARY.worker:
        _worker_summary(terminalreporter)
    if SUMMARY.lake:
        _lake_summary(terminalreporter)
    if SUMMARY.sqs:
        _sqs_summary(terminalreporter)
    if SUMMARY.beam:
        _beam_summary(terminalreporter)
    if not SUMMARY.rows:
        return
    tr = terminalreporter
    tr.write_sep(
        "=",
        f"decode {EVENTS:,} receipts in one call: µs per event (best and median of the rounds; the implementations "
        "take turns, see benches/test_codec_bench.py)",
    )
    tr.write_line(
        "| data | implementation | µs/event best | µs/event median | vs pyarrow.json (1 thread) | rows kept | outcome |"
    )
    tr.write_line("|---|---|---:|---:|---:|---:|---|")
    base = {
        r.dataset: r.seconds[0]
        for r in SUMMARY.rows
        if r.implementation == "pyarrow.json (1 thread)" and r.seconds and r.outcome == "equal"
    }
    for r in sorted(SUMMARY.rows, key=lambda r: (r.dataset, r.seconds[0] if r.seconds else 1e9)):
        best = f"{r.seconds[0] / EVENTS * 1e6:.2f}" if r.seconds else "-"
        median = f"{r.seconds[1] / EVENTS * 1e6:.2f}" if r.seconds else "-"
        ref = base.get(r.dataset) or base.get("clean")
        ratio = f"{ref / r.seconds[0]:.1f}x" if (r.seconds and ref) else "-"
        rows = f"{r.rows:,}" if r.rows is not None else "-"
        tr.write_line(f"| {r.dataset} | {r.implementation} | {best} | {median} | {ratio} | {rows} | {r.outcome} |")
