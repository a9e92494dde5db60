"""``streamlake demo``, ``streamlake publish`` and ``streamlake lake verify``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from streamlake_fast.cli.envelope import envelope_of
from streamlake_fast.exceptions import ConfigError

if TYPE_CHECKING:
    from streamlake_fast.edge.publisher import Publisher

__all__ = ["dead_letters", "demo", "lake", "publish"]

#: The mixed demo's default size.
MIXED_EVENTS = 100_000


def demo(args: argparse.Namespace) -> int:
    from streamlake_fast.cli.demo import AWS_EVENTS, BUCKET, run_demo, summary_lines

    if args.events is None:
        args.events = AWS_EVENTS if args.cloud == "aws" else MIXED_EVENTS if args.mixed else 1_000_000
    if args.events <= 0:
        raise ConfigError("--events must be positive")
    if args.no_emulators and args.cloud == "aws":
        raise ConfigError("--no-emulators is for --cloud gcp: the AWS demo needs moto's server")
    if args.mixed and args.envelope:
        raise ConfigError("--envelope is for the receipts demo, not --mixed (its publisher is Google's client)")
    if args.mixed and args.cloud == "aws":
        raise ConfigError("--mixed runs on --cloud gcp (Pub/Sub and BigQuery's emulators); on AWS, routes work the "
                          "same with streamlake run --queue (see docs/routing.md)")  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)  # unwind like Ctrl-C, so the local servers are stopped
    if args.mixed:
        return _mixed_demo(args)
    where = f"s3://{BUCKET}/{Path(args.lake).name or 'lake'} (moto)" if args.cloud == "aws" else args.lake
    print(f"streamlake demo: {args.events:,} receipts ({args.invalid_fraction:.1%} invalid) → {where}",
          file=sys.stderr)  # fmt: skip
    report = run_demo(
        args.events,
        cloud=args.cloud,
        lake=args.lake,
        invalid_fraction=args.invalid_fraction,
        seed=args.seed,
        use_emulators=not args.no_emulators,
        progress_interval=args.progress_interval,
        lake_format=args.lake_format,
        envelope=args.envelope or "",
    )
    print("\n".join(summary_lines(report)))
    return 0


def _mixed_demo(args: argparse.Namespace) -> int:
    from streamlake_fast.cli.demo_mixed import mixed_summary_lines, run_mixed_demo

    print(f"streamlake demo --mixed: {args.events:,} events of four types on one stream "
          f"({args.invalid_fraction:.1%} invalid, 1% of an unknown type) → {args.lake}", file=sys.stderr)  # fmt: skip
    report = run_mixed_demo(args.events, lake=args.lake, invalid_fraction=args.invalid_fraction, seed=args.seed,
                            use_emulators=not args.no_emulators, progress_interval=args.progress_interval)  # fmt: skip
    print("\n".join(mixed_summary_lines(report)))
    return 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def publish(args: argparse.Namespace) -> int:
    from streamlake_fast.codec.schema import Schema
    from streamlake_fast.edge.publisher import Publisher, PublishResult, ndjson_chunks
    from streamlake_fast.local.generate import receipt_batches, receipt_schema

    if (args.input is None) == (args.generate is None):
        raise ConfigError("give an NDJSON file or --generate N (one of them)")
    if args.table:
        from streamlake_fast.transports.gcp.tables import events_schema

        schema = events_schema(args.table, args.schema)  # what the worker will check them against
    elif args.schema:
        schema = Schema.from_bigquery(args.schema)
    elif args.generate is not None:
        schema = receipt_schema()
    else:
        raise ConfigError("--schema FILE.json is needed to validate a file's events (or pass --no-validate)")
    total = PublishResult()
    start = last = time.perf_counter()
    rejects_out = args.rejects.open("w", encoding="utf-8") if args.rejects else None
    shown = 0
    if (args.topic is None) == (args.queue is None):
        raise ConfigError("give --topic projects/P/topics/T or --queue SQS_QUEUE_URL (one of them)")
    destination = args.topic or args.queue
    from streamlake_fast.codec.transform import Transform

    transform = Transform.load(args.transform) if args.transform else None
    envelope = envelope_of(args, queue=args.queue is not None)
    with Publisher(args.topic, schema, queue=args.queue, validate=not args.no_validate,
                   enrich=not args.no_enrich, transform=transform, envelope=envelope) as publisher:  # fmt: skip
        if args.generate is not None:
            chunks = receipt_batches(args.generate, 10_000, invalid_fraction=args.invalid_fraction)
            batches: Iterable[tuple[int, bytes | list[bytes]]] = ((i * 10_000, c) for i, c in enumerate(chunks))
        else:
            batches = ndjson_chunks(args.input)
        for first, chunk in batches:
            result = publisher.publish(chunk)
            total += result
            for r in result.rejects:
                where = f"{'line' if args.input else 'event'} {first + r.index + 1}"
                if rejects_out is not None:
                    rejects_out.write(json.dumps(r.as_json(first)) + "\n")
                elif shown < 20:
                    shown += 1
                    print(f"refused {where}: {r.code} at {r.path or '(event)'}: {r.message}", file=sys.stderr)
            if time.perf_counter() - last >= args.progress_interval:
                last = time.perf_counter()
                print(f"[publish] {total.published:,} published ({total.published / (last - start):,.0f}/s), "
                      f"{len(total.rejects):,} refused", file=sys.stderr)  # fmt: skip
    if rejects_out is not None:
        rejects_out.close()
    seconds = time.perf_counter() - start
    in_messages = f" in {publisher.messages:,} envelopes" if envelope is not None else ""
    print(f"published {total.published:,} events{in_messages} to {destination} in {seconds:.1f} s "
          f"({total.published / max(seconds, 1e-9):,.0f}/s); refused {len(total.rejects):,}")  # fmt: skip
    print(publish_cost_line(publisher, args.prices))
    return 1 if total.rejects else 0


def publish_cost_line(publisher: Publisher, prices: Path | None) -> str:
    """What publishing cost per million events, and what the same events cost as plain messages."""
    from streamlake_fast.cost import load_prices

    cost = publisher.cost(load_prices(prices))
    service = "Pub/Sub" if publisher.topic is not None else "SQS"
    return (f"cost: ${cost.per_million(cost.total):.4f} per million events published ({service}); as plain "
            f"messages: ${cost.per_million(cost.managed):.4f}")  # fmt: skip


def lake(args: argparse.Namespace) -> int:
    from streamlake_fast.sinks.lake import verify_lake

    if args.lake_command != "verify" or args.iceberg_table:
        from streamlake_fast.cli.iceberg import iceberg_command

        return iceberg_command(args)
    if not args.root:
        raise ConfigError("lake verify needs a lake root (a path, gs://… or s3://…) or --iceberg-table")
    if args.clean and args.older_than <= 0:
        raise ConfigError("--older-than must be positive")
    report = verify_lake(args.root, clean_older_than=args.older_than if args.clean else None)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    if report.unreadable:
        return 1
    return 1 if args.fail_on_duplicates and report.duplicate_ids else 0


def dead_letters(args: argparse.Namespace) -> int:
    """``streamlake dead-letters replay``: prints the counts per reason code; exit 0 once the source is drained."""
    from datetime import datetime, timezone

    from streamlake_fast.deadletters.replay import ReplayFilter, replay
    from streamlake_fast.deadletters.targets import target

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        except ValueError as e:
            raise ConfigError(f"--since must be an ISO 8601 time, got {args.since!r}") from e
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    if args.limit is not None and args.limit <= 0:
        raise ConfigError("--limit must be positive")
    flt = ReplayFilter(frozenset(args.code), since, args.limit)
    to = target(topic=args.to_topic, queue=args.to_queue)
    if args.from_subscription or args.from_queue:
        from streamlake_fast.deadletters.origins import QueueOrigin, SubscriptionOrigin

        origin = SubscriptionOrigin(args.from_subscription) if args.from_subscription else QueueOrigin(args.from_queue)
        counts = replay(origin, to, flt)
    else:
        from streamlake_fast.deadletters.replay_stored import file_records, replay_records, table_records

        source = args.from_table or args.from_files
        records = table_records(args.from_table) if args.from_table else file_records(args.from_files)
        counts = replay_records(records, to, source, flt)
    print("\n".join(counts.lines()))
    return 0
