"""The ``streamlake`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streamlake_fast import __version__
from streamlake_fast.codec import Codec
from streamlake_fast.exceptions import StreamlakeError
from streamlake_fast.schema import Schema

__all__ = ["main"]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="streamlake", description="Streaming ingestion: JSON events to Arrow.")
    p.add_argument("--version", action="version", version=f"streamlake_fast {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="decode generated receipts and report throughput (the main job for now)")
    demo.add_argument("--events", type=int, default=_env_int("STREAMLAKE_EVENTS", 1_000_000))
    demo.add_argument("--batch-size", type=int, default=10_000, help="messages per decode call (default 10,000)")
    demo.add_argument("--invalid-fraction", type=float, default=0.01, help="share of bad receipts (default 0.01)")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--out", type=Path, help="also write the valid rows to this Parquet file")

    run = sub.add_parser("run", help="the worker: drain a Pub/Sub subscription into a BigQuery table")
    env = os.environ.get
    run.add_argument("--config", type=Path, default=env("STREAMLAKE_CONFIG"), help="TOML config (flags override it)")
    run.add_argument("--subscription", default=env("STREAMLAKE_SUBSCRIPTION"), help="projects/P/subscriptions/S")
    run.add_argument("--table", default=env("STREAMLAKE_TABLE"), help="PROJECT.DATASET.TABLE")
    run.add_argument("--dead-letter-topic", default=env("STREAMLAKE_DEAD_LETTER_TOPIC"), help="projects/P/topics/T")
    run.add_argument("--dead-letter-table", default=env("STREAMLAKE_DEAD_LETTER_TABLE"),
                     help="PROJECT.DATASET.TABLE (default: <table>_rejects when no topic is given)")  # fmt: skip
    run.add_argument("--mode", choices=["default", "committed"], default=env("STREAMLAKE_MODE"),
                     help="Storage Write stream: default (at-least-once) or committed (offsets)")  # fmt: skip
    run.add_argument("--schema", default=env("STREAMLAKE_SCHEMA"), help="BigQuery schema JSON (default: the table's)")
    run.add_argument("--max-rows", type=int, help="rows per write (default 50,000)")
    run.add_argument("--max-bytes", type=int, help="message bytes per write (default 8,000,000)")
    run.add_argument("--max-latency", type=float, help="seconds from pull to durable (default 1.0)")
    run.add_argument("--concurrent-pulls", type=int, help="Pull calls in flight (default 3)")
    run.add_argument("--ack-deadline", type=int, help="seconds each lease extension asks for (default 60)")
    run.add_argument("--progress-interval", type=float, help="seconds between progress lines (default 5)")
    run.add_argument("--exit-when-drained", action="store_true", default=None,
                     help="exit once the subscription has no more messages")  # fmt: skip
    run.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    run.add_argument("-v", "--verbose", action="store_true")

    dec = sub.add_parser("decode", help="decode an NDJSON file with a BigQuery schema")
    dec.add_argument("input", type=Path, help="newline-delimited JSON events")
    dec.add_argument("--schema", type=Path, required=True, help="BigQuery schema JSON (as `bq show --schema`)")
    dec.add_argument("--out", type=Path, help="write the valid rows to this Parquet file")
    dec.add_argument("--rejects", type=Path, help="write rejects as NDJSON to this file (default: stderr, first 20)")
    dec.add_argument("--unknown-fields", choices=["reject", "ignore"], default="reject")
    return p


def _demo(args: argparse.Namespace) -> int:
    from streamlake_fast.demo import run_demo

    if args.events <= 0:
        raise SystemExit("streamlake demo: --events must be positive")
    print(f"decoding {args.events:,} generated receipts in batches of {args.batch_size:,} ...", file=sys.stderr)
    result = run_demo(
        args.events,
        batch_size=args.batch_size,
        invalid_fraction=args.invalid_fraction,
        seed=args.seed,
        out=args.out,
    )
    p = result.progress
    print(p.line(), file=sys.stderr)
    print(f"events:            {p.events:,}")
    print(f"rows decoded:      {p.rows:,}")
    print(f"rejects:           {sum(p.rejects.values()):,}")
    for code, count in sorted(p.rejects.items()):
        print(f"  {code:<18} {count:,}")
    print(f"codec CPU time:    {p.cpu_seconds:.3f} s ({p.cpu_us_per_event:.3f} µs/event)")
    if p.cpu_seconds > 0:
        print(f"codec throughput:  {p.events / p.cpu_seconds:,.0f} events/s per core")
    print(f"wall time:         {p.elapsed:.1f} s (includes generating the receipts in Python)")
    for r in result.sample_rejects:
        print(f"  e.g. {r}")
    if result.parquet:
        print(f"parquet:           {result.parquet} ({result.parquet.stat().st_size:,} bytes)")
    return 0


def _decode(args: argparse.Namespace) -> int:
    codec = Codec(Schema.from_bigquery(args.schema), unknown_fields=args.unknown_fields)
    data = args.input.read_bytes()
    start = time.perf_counter()
    result = codec.decode(data)
    seconds = time.perf_counter() - start
    if args.out:
        pq.write_table(pa.Table.from_batches([result.batch]), args.out, compression="zstd")
    if args.rejects:
        with args.rejects.open("w", encoding="utf-8") as f:
            for r in result.rejects:
                f.write(json.dumps({"line": r.index + 1, "code": r.code, "path": r.path, "message": r.message}) + "\n")
    else:
        for r in result.rejects[:20]:
            print(f"line {r.index + 1}: {r.code} at {r.path or '(message)'}: {r.message}", file=sys.stderr)
    n = result.num_rows + len(result.rejects)
    print(
        f"{n:,} events: {result.num_rows:,} rows, {len(result.rejects):,} rejects, "
        f"{seconds * 1e6 / max(n, 1):.3f} µs/event"
    )
    return 1 if result.rejects else 0


def _run(args: argparse.Namespace) -> int:
    import logging
    import signal

    import msgspec

    from streamlake_fast.app import build_worker
    from streamlake_fast.config import load_config

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = load_config(args.config)
    top = {"subscription": args.subscription, "table": args.table, "dead_letter_topic": args.dead_letter_topic,
           "dead_letter_table": args.dead_letter_table, "mode": args.mode, "schema": args.schema,
           "progress_interval": args.progress_interval, "exit_when_drained": args.exit_when_drained,
           "metrics_port": args.metrics_port}  # fmt: skip
    batch = {"max_rows": args.max_rows, "max_bytes": args.max_bytes, "max_latency": args.max_latency}
    config = msgspec.structs.replace(
        config,
        **{k: v for k, v in top.items() if v is not None},
        batch=msgspec.structs.replace(config.batch, **{k: v for k, v in batch.items() if v is not None}),
        pubsub=msgspec.structs.replace(
            config.pubsub,
            **{
                k: v
                for k, v in {"concurrent_pulls": args.concurrent_pulls, "ack_deadline": args.ack_deadline}.items()
                if v is not None
            },
        ),
    )
    worker = build_worker(config)
    signals = {"count": 0}

    def on_signal(signum: int, _frame: object) -> None:
        signals["count"] += 1
        if signals["count"] == 1:
            print(f"streamlake: {signal.Signals(signum).name}: finishing in-flight batches", file=sys.stderr)
            worker.stop()
        else:
            print("streamlake: second signal: handing in-flight messages back", file=sys.stderr)
            worker.abort()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stats = worker.run()
    print(
        f"events {stats.events:,}  rows {stats.rows:,}  rejects {stats.rejects:,}  acked {stats.acked:,}  "
        f"batches {stats.batches:,}  sink retries {stats.sink_retries:,}  "
        f"CPU {stats.cpu / max(stats.events, 1) * 1e6:.1f} µs/event",
        file=sys.stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "run":
            return _run(args)
        return _decode(args)
    except (StreamlakeError, OSError) as e:
        print(f"streamlake: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
