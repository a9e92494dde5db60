"""Resident memory of an in-process worker draining a large backlog into a slow sink, against flow control's bound.

Publishes N receipts (default 1,000,000, in ``streamlake publish --generate`` chunks of 100,000 run as child
processes, so this process's memory is not touched; publishing stops early, and says so, once it has taken more
than ``--publish-budget`` seconds), then runs a :class:`~streamlake_fast.worker.Worker` in this process — a
``PubSubSource`` with the config's default flow control, a sink that sleeps ``rows / --rows-per-second`` per write
and keeps nothing — for ``--seconds``, sampling ``VmRSS`` of this process every second.

Run from the repository root: ``.venv/bin/python benches/measure/backlog_memory.py [--events 1000000]``.
Results on stdout and in ``/tmp/measure/backlog_memory.json`` (every sample).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import subprocess
import threading
import time
import uuid
from typing import Any

import pyarrow as pa
from _servers import OUT, ROOT, code_under_test, create_topic_and_subscription, rss_kb, start_pubsub, tree_rss_kb

from streamlake_fast.codec.codec import Codec
from streamlake_fast.config import WorkerConfig
from streamlake_fast.local.generate import receipt_schema
from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.transports.gcp.pull import PubSubSource
from streamlake_fast.worker import Worker

PROJECT = "measure-backlog"
STREAMLAKE = str(ROOT / ".venv/bin/streamlake")
CHUNK = 100_000
MB = 1 << 20


class ThrottledSink(WriteIsDurable):
    """Takes ``rows_per_second`` rows a second (a write sleeps rows / rate) and keeps nothing."""

    schema: pa.Schema | None = None  # the event columns as decoded

    def __init__(self, rows_per_second: float) -> None:
        self.name = f"throttled:{rows_per_second:g} rows/s"
        self.rows_per_second = rows_per_second
        self.rows_written = 0
        self.writes: list[int] = []
        self._fast = threading.Event()

    def unthrottle(self) -> None:
        """From now on (the write sleeping now included) take rows at once."""
        self._fast.set()

    def write(self, batch: pa.RecordBatch) -> None:
        self._fast.wait(batch.num_rows / self.rows_per_second)
        self.rows_written += batch.num_rows
        self.writes.append(batch.num_rows)
        self._written()

    def close(self) -> None:
        pass


def publish_backlog(topic: str, events: int, budget: float) -> tuple[int, float]:
    published, start = 0, time.perf_counter()
    while published < events and time.perf_counter() - start < budget:
        n = min(CHUNK, events - published)
        out = subprocess.run([STREAMLAKE, "publish", "--topic", topic, "--generate", str(n), "--progress-interval",
                              "3600"], capture_output=True, text=True)  # fmt: skip
        found = re.search(r"published ([\d,]+) events", out.stdout)
        if out.returncode != 0 or not found:
            raise RuntimeError(f"publish exited {out.returncode}: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        published += int(found.group(1).replace(",", ""))
        print(f"[publish] {published:,} of {events:,} ({time.perf_counter() - start:.0f} s)", flush=True)
    return published, time.perf_counter() - start


def promise(config: WorkerConfig) -> dict[str, Any]:
    """What flow control promises, from the config defaults (and the source class's own defaults, for contrast)."""
    params = inspect.signature(PubSubSource.__init__).parameters
    own = {k: params[k].default for k in ("concurrent_pulls", "max_outstanding_messages", "max_outstanding_bytes")}
    return {
        "max_outstanding_messages": config.pubsub.max_outstanding_messages,
        "max_outstanding_bytes": config.pubsub.max_outstanding_bytes,
        "concurrent_pulls": config.pubsub.concurrent_pulls,
        "max_messages_per_pull": config.pubsub.max_messages,
        "max_rows_per_batch": config.batch.max_rows,
        "pubsub_source_class_defaults": own,
        # FlowControl.acquire counts a delivery even past a limit: each puller may add one more response.
        "overshoot_messages_at_most": config.pubsub.concurrent_pulls * config.pubsub.max_messages,
    }


def build(subscription: str, sink: ThrottledSink, config: WorkerConfig, work: str) -> Worker:
    """As ``app.build_worker`` wires it from ``config``, with the throttled sink in place of BigQuery / the lake."""
    p, b = config.pubsub, config.batch
    source = PubSubSource(subscription, max_messages=p.max_messages, concurrent_pulls=p.concurrent_pulls,
                          max_outstanding_messages=p.max_outstanding_messages,
                          max_outstanding_bytes=p.max_outstanding_bytes, ack_deadline=p.ack_deadline,
                          max_lease=p.max_lease)  # fmt: skip
    return Worker(source, [sink], Codec(receipt_schema()), dead_letter=DeadLetterFiles(work), max_rows=b.max_rows,
                  max_bytes=b.max_bytes, max_latency=b.max_latency, progress_interval=10)  # fmt: skip


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    samples: list[dict[str, Any]] = report["samples"]
    writes: list[int] = report["sink_writes"]
    baseline, rss_start = report["rss_baseline_kb"], report["rss_at_start_kb"]
    peak = max(samples, key=lambda s: s["rss_kb"])
    growth = peak["rss_kb"] - baseline
    most = max(samples, key=lambda s: s["outstanding_messages"])
    per_message = most["outstanding_bytes"] / max(most["outstanding_messages"], 1)
    pr = report["promise"]
    if report["published"] < args.events:
        print(f"\nNOTE: only {report['published']:,} of {args.events:,} events published within "
              f"{args.publish_budget:.0f} s")  # fmt: skip
    emulator = report["emulator_rss_after_publish_kb"] / 1024
    print(f"\nbacklog: {report['published']:,} receipts published in {report['publish_seconds']:.1f} s; "
          f"Pub/Sub emulator RSS after publishing {emulator:,.0f} MB")  # fmt: skip
    print(f"flow control (config defaults): max_outstanding_messages {pr['max_outstanding_messages']:,}, "
          f"max_outstanding_bytes {pr['max_outstanding_bytes'] / MB:,.0f} MiB (message bytes as received), "
          f"{pr['concurrent_pulls']} pulls x {pr['max_messages_per_pull']} messages (overshoot <= "
          f"{pr['overshoot_messages_at_most']:,} messages); PubSubSource's own defaults: "
          f"{pr['pubsub_source_class_defaults']}")  # fmt: skip
    print(f"sink: {args.rows_per_second:g} rows/s, writes of {writes[:6]}{' ...' if len(writes) > 6 else ''}"
          f" rows; worker ran {args.seconds:g} s")  # fmt: skip
    print("\n| t (s) | RSS (MB) | outstanding messages | outstanding MB | pulled | acked | emulator RSS (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for s in samples[::5] + ([samples[-1]] if (len(samples) - 1) % 5 else []):
        print(f"| {s['t']:.0f} | {s['rss_kb'] / 1024:,.0f} | {s['outstanding_messages']:,} | "
              f"{s['outstanding_bytes'] / MB:,.1f} | {s['events']:,} | {s['acked']:,} | "
              f"{s['emulator_rss_kb'] / 1024:,.0f} |")  # fmt: skip
    print("\n| measure | value |")
    print("|---|---:|")
    rows = [
        ("RSS at script start (imports done)", f"{rss_start / 1024:,.0f} MB"),
        ("baseline RSS (worker built, not running)", f"{baseline / 1024:,.0f} MB"),
        ("peak RSS (1 s samples)", f"{peak['rss_kb'] / 1024:,.0f} MB at t={peak['t']:.0f} s"),
        ("peak RSS (VmHWM, whole process life)", f"{report['vm_hwm_kb'] / 1024:,.0f} MB"),
        (f"RSS at end of the {args.seconds:g} s run", f"{report['rss_end_of_run_kb'] / 1024:,.0f} MB"),
        ("RSS after stop (queue drained unthrottled)", f"{report['rss_after_stop_kb'] / 1024:,.0f} MB"),
        ("peak growth over baseline", f"{growth / 1024:,.0f} MB"),
        ("most messages outstanding", f"{most['outstanding_messages']:,} ({most['outstanding_bytes'] / MB:,.1f} MB)"),
        ("bytes per message as received", f"{per_message:,.0f}"),
        ("peak growth per outstanding message", f"{growth * 1024 / max(most['outstanding_messages'], 1):,.0f} B"),
    ]  # fmt: skip
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--publish-budget", type=float, default=300.0, help="stop publishing after this (s)")
    parser.add_argument("--rows-per-second", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the worker runs")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(code_under_test(), flush=True)
    started = time.perf_counter()
    rss_start = rss_kb()
    config = WorkerConfig()
    report: dict[str, Any] = {"args": vars(args), "promise": promise(config), "rss_at_start_kb": rss_start}
    pubsub = start_pubsub()
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    try:
        suffix = uuid.uuid4().hex[:8]
        topic = f"projects/{PROJECT}/topics/backlog-{suffix}"
        subscription = f"projects/{PROJECT}/subscriptions/backlog-{suffix}"
        create_topic_and_subscription(topic, subscription, config.pubsub.ack_deadline)
        report["published"], report["publish_seconds"] = publish_backlog(topic, args.events, args.publish_budget)
        report["emulator_rss_after_publish_kb"] = tree_rss_kb(pubsub.proc.pid)
        sink = ThrottledSink(args.rows_per_second)
        work = OUT / f"backlog-work-{suffix}"
        worker = build(subscription, sink, config, str(work))
        flow = worker.source.flow_control
        report["rss_baseline_kb"] = rss_kb()  # built, not yet running
        thread = threading.Thread(target=worker.run, name="worker")
        samples: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        thread.start()
        while (t := time.perf_counter() - t0) < args.seconds and thread.is_alive():
            samples.append({"t": round(t, 1), "rss_kb": rss_kb(), "outstanding_messages": flow.messages,
                            "outstanding_bytes": flow.bytes, "events": worker.stats.events,
                            "acked": worker.stats.acked, "sink_rows": sink.rows_written,
                            "emulator_rss_kb": tree_rss_kb(pubsub.proc.pid)})  # fmt: skip
            time.sleep(max(0.0, len(samples) - (time.perf_counter() - t0)))
        report["rss_end_of_run_kb"] = rss_kb()
        report["vm_hwm_kb"] = rss_kb(key="VmHWM")  # the kernel's peak, between samples too
        sink.unthrottle()
        worker.stop("measurement over")
        thread.join(300)
        report["rss_after_stop_kb"] = rss_kb()
        report["sink_writes"] = sink.writes
        report["samples"] = samples
    finally:
        pubsub.stop()
    print_report(report, args)
    report["wall_seconds"] = time.perf_counter() - started
    print(f"\nwall time: {report['wall_seconds']:.1f} s")
    (OUT / "backlog_memory.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
