"""The ``streamlake`` command line: ``demo``, ``run``, ``publish``, ``serve``, ``push-handler``, ``dead-letters``,
``lake verify``, ``decode``, ``codec-demo``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from streamlake_fast import __version__
from streamlake_fast.cli import http
from streamlake_fast.cli.destinations import dead_letter_arguments
from streamlake_fast.cli.envelope import dictionary_parser, envelope_arguments
from streamlake_fast.exceptions import StreamlakeError
from streamlake_fast.extras import missing_extra

__all__ = ["main"]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _demo_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="the whole pipeline on this machine: publish → worker → lake (+ BigQuery)")
    demo.add_argument("--cloud", choices=["gcp", "aws"], default="gcp",
                      help="gcp: Pub/Sub emulator + bqemulator (default); aws: moto's SQS + an S3 lake")  # fmt: skip
    demo.add_argument("--events", type=int, default=_env_int("STREAMLAKE_EVENTS", 0) or None,
                      help="receipts to send (default 1,000,000; 20,000 with --cloud aws)")  # fmt: skip
    demo.add_argument("--lake", default=os.environ.get("STREAMLAKE_LAKE", "lake"), help="lake root (default ./lake)")
    demo.add_argument("--invalid-fraction", type=float, default=0.01, help="share of bad receipts (default 0.01)")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--no-emulators", action="store_true", help="do not start the emulators: in-process source")
    demo.add_argument("--mixed", action="store_true",
                      help="four event types on one topic, routed each to its own table and lake prefix "
                      "(default 100,000 events)")  # fmt: skip
    demo.add_argument("--envelope", choices=["zstd"], help="the publisher seals the receipts into zstd envelopes "
                      "of 64 KB (the worker opens them; compare the cost line with and without)")  # fmt: skip
    demo.add_argument("--lake-format", choices=["parquet", "iceberg"], default="parquet",
                      help="iceberg: the Iceberg table demo.receipts (SQLite catalog, under --lake)")  # fmt: skip
    demo.add_argument("--progress-interval", type=float, default=5.0)

    cd = sub.add_parser("codec-demo", help="decode generated receipts in memory and report codec throughput")
    cd.add_argument("--events", type=int, default=_env_int("STREAMLAKE_EVENTS", 1_000_000))
    cd.add_argument("--batch-size", type=int, default=10_000, help="messages per decode call (default 10,000)")
    cd.add_argument("--invalid-fraction", type=float, default=0.01, help="share of bad receipts (default 0.01)")
    cd.add_argument("--seed", type=int, default=42)
    cd.add_argument("--out", type=Path, help="also write the valid rows to this Parquet file")


def _publish_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pub = sub.add_parser("publish", help="validate raw events and publish them to a Pub/Sub topic or an SQS queue")
    pub.add_argument("input", nargs="?", type=Path, help="an NDJSON file of events")
    pub.add_argument("--generate", type=int, metavar="N", help="publish N generated receipts instead of a file")
    pub.add_argument("--topic", help="projects/P/topics/T")
    pub.add_argument(
        "--queue", default=os.environ.get("STREAMLAKE_QUEUE"), help="an SQS queue URL (instead of a topic)"
    )
    pub.add_argument("--schema", help="BigQuery schema JSON of the events (default with --generate: receipts)")
    pub.add_argument("--table", help="validate against this table's columns, as the worker will (P.D.T)")
    pub.add_argument("--invalid-fraction", type=float, default=0.0, help="with --generate: share of bad receipts")
    pub.add_argument("--no-validate", action="store_true", help="publish events as they are (no codec check)")
    pub.add_argument("--no-enrich", action="store_true", help="do not add event_id / ingest_time")
    pub.add_argument("--transform", type=Path, help="a TOML file whose [transform] table renames, drops, defaults, "
                     "hashes or redacts fields before validation")  # fmt: skip
    pub.add_argument("--rejects", type=Path, help="write refused events' reasons as NDJSON here (default: stderr)")
    pub.add_argument("--progress-interval", type=float, default=5.0)
    envelope_arguments(pub)
    pub.add_argument("--prices", type=Path, help="a TOML price list over the defaults, for the cost line")


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="the worker: drain a Pub/Sub subscription or an SQS queue into BigQuery and/or "
                         "a lake")  # fmt: skip
    env = os.environ.get
    run.add_argument("--config", type=Path, default=env("STREAMLAKE_CONFIG"), help="TOML config (flags override it)")
    run.add_argument("--subscription", default=env("STREAMLAKE_SUBSCRIPTION"), help="projects/P/subscriptions/S")
    run.add_argument(
        "--prices",
        type=Path,
        default=env("STREAMLAKE_PRICES"),
        help="a TOML price list over the defaults (streamlake_fast/cost/prices.toml) for the cost line",
    )
    run.add_argument("--queue", default=env("STREAMLAKE_QUEUE"),
                     help="an SQS queue URL (instead of a subscription)")  # fmt: skip
    run.add_argument("--visibility-timeout", type=int, help="SQS: seconds a received message stays invisible, "
                     "extended while it waits (default 60)")  # fmt: skip
    run.add_argument("--wait-time", type=int, help="SQS: long-polling seconds per receive, 0-20 (default 20)")
    run.add_argument("--concurrent-receives", type=int, help="SQS: ReceiveMessage calls in flight (default 8)")
    run.add_argument("--table", default=env("STREAMLAKE_TABLE"), help="PROJECT.DATASET.TABLE")
    run.add_argument("--lake", default=env("STREAMLAKE_LAKE"), help="lake root: a path, gs://B/prefix or s3://B/prefix")
    run.add_argument("--partition-by", help="lake partitions by the UTC date of this field (default: publish time)")
    run.add_argument(
        "--iceberg-table",
        default=env("STREAMLAKE_ICEBERG_TABLE"),
        help="an Apache Iceberg table, NAMESPACE.TABLE (created when missing; day(--partition-by))",
    )
    run.add_argument(
        "--catalog",
        default=env("STREAMLAKE_CATALOG"),
        help="the Iceberg catalog: sqlite:///PATH, postgresql://… or https://… (REST)",
    )
    run.add_argument(
        "--warehouse",
        default=env("STREAMLAKE_WAREHOUSE"),
        help="the Iceberg warehouse: a path, s3://B/prefix or gs://B/prefix",
    )
    run.add_argument("--commit-interval", type=float, help="Iceberg: seconds between commits (default 2)")
    dead_letter_arguments(run)
    run.add_argument("--mode", choices=["default", "committed"], default=env("STREAMLAKE_MODE"),
                     help="Storage Write stream: default (at-least-once) or committed (offsets)")  # fmt: skip
    run.add_argument("--schema", default=env("STREAMLAKE_SCHEMA"), help="BigQuery schema JSON (default: the table's)")
    run.add_argument("--create-table", action="store_true", default=None,
                     help="create --table from --schema when missing (partitioned by --partition-by, else by "
                     "ingestion time)")  # fmt: skip
    run.add_argument("--partition-type", choices=["HOUR", "DAY", "MONTH", "YEAR"], help="with --create-table (DAY)")
    run.add_argument("--partition-expiration-days", type=float, help="with --create-table: drop older partitions")
    run.add_argument("--require-partition-filter", action="store_true", default=None,
                     help="with --create-table: queries must filter on the partition column")  # fmt: skip
    run.add_argument("--cluster-by", type=_names, help="with --create-table: up to 4 columns, a,b")
    run.add_argument("--metadata-columns", type=_names,
                     help="with --create-table: metadata columns to add, e.g. message_id,publish_time")  # fmt: skip
    run.add_argument("--schema-update", choices=["off", "follow", "add_columns"],
                     help="follow (default): write columns added to the table, no restart; add_columns: also add "
                     "NULLABLE columns for unknown fields; off: the schema read at start")  # fmt: skip
    run.add_argument("--schema-check-interval", type=float,
                     help="seconds between reads of the table's schema (default 60; 0: only on rejects)")  # fmt: skip
    run.add_argument("--new-columns-schema", help="with add_columns: a newer schema file giving new columns' types "
                     "(default: inferred from the values)")  # fmt: skip
    run.add_argument("--relax-required", action="store_true", default=None,
                     help="with add_columns: REQUIRED columns the events leave out become NULLABLE")  # fmt: skip
    run.add_argument("--max-rows", type=int, help="events per write (an envelope counts its events; default 50,000)")
    run.add_argument("--max-bytes", type=int,
                     help="event bytes per write (an envelope's decompressed; default 8,000,000)")  # fmt: skip
    run.add_argument("--max-latency", type=float, help="seconds from pull to written (default 1.0)")
    run.add_argument("--max-file-age", type=float, help="lake: seconds before an open file rolls (default 60)")
    run.add_argument(
        "--max-open-files",
        type=int,
        help="lake: files open at once, one per partition; more roll the least recent (default 32)",
    )
    run.add_argument("--target-file-bytes", type=int, help="lake: Parquet file size to roll at (default 128 MiB)")
    run.add_argument("--receive", choices=["pull", "streaming"],
                     help="Pub/Sub: unary Pull calls (default) or StreamingPull streams")  # fmt: skip
    run.add_argument("--concurrent-pulls", type=int, help="Pull calls in flight (default 3)")
    run.add_argument("--ack-deadline", type=int, help="seconds each lease extension asks for (default 60)")
    run.add_argument("--progress-interval", type=float, help="seconds between progress lines (default 5)")
    run.add_argument("--exit-when-drained", action="store_true", default=None,
                     help="exit once the subscription has no more messages")  # fmt: skip
    run.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    run.add_argument("--metrics-address", help="the metrics port's address (default 127.0.0.1; 0.0.0.0: all)")
    run.add_argument("--shutdown-timeout", type=float,
                     help="seconds from SIGTERM/Ctrl-C to exit, whatever the sinks do (default 30)")  # fmt: skip
    run.add_argument("--envelope-dictionary", type=Path, action="append", default=[], metavar="FILE",
                     help="a zstd dictionary envelopes may be compressed with (repeat for several)")  # fmt: skip
    run.add_argument("--redact-values", action="store_true", default=None,
                     help="leave event values out of reject messages (events holding personal data)")  # fmt: skip
    run.add_argument("-v", "--verbose", action="store_true")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="streamlake", description="Streaming ingestion: JSON events to BigQuery and a lake."
    )
    p.add_argument("--version", action="version", version=f"streamlake_fast {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    _demo_parsers(sub)
    _run_parser(sub)
    _publish_parser(sub)
    http.add_parsers(sub)

    dl = sub.add_parser("dead-letters", help="work with dead letters")
    dl_sub = dl.add_subparsers(dest="dead_letters_command", required=True)
    replay = dl_sub.add_parser("replay", help="republish dead letters as their original messages")
    origin = replay.add_mutually_exclusive_group(required=True)
    origin.add_argument("--from-subscription", metavar="SUB",
                        help="a subscription of the dead-letter topic: projects/P/subscriptions/S")  # fmt: skip
    origin.add_argument("--from-queue", metavar="URL", help="the dead-letter queue (SQS)")
    origin.add_argument("--from-table", metavar="P.D.T", help="the rejects table (its rows stay; see --since)")
    origin.add_argument("--from-files", metavar="ROOT", help="the lake root whose _rejects/ files to replay")
    to = replay.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-topic", help="the main topic: projects/P/topics/T")
    to.add_argument("--to-queue", metavar="URL", help="the main queue (SQS)")
    replay.add_argument("--code", action="append", default=[], help="only this reason code (repeatable)")
    replay.add_argument("--since", help="only dead letters rejected at or after this time (ISO 8601, UTC)")
    replay.add_argument("--limit", type=int, help="replay at most this many")

    lake = sub.add_parser("lake", help="inspect a lake or an Iceberg table; maintain an Iceberg table")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True)
    verify = lake_sub.add_parser("verify", help="rows and files per partition, schemas, duplicate message ids")
    verify.add_argument("root", nargs="?", help="lake root: a path, gs://B/prefix or s3://B/prefix")
    verify.add_argument("--iceberg-table", metavar="NAMESPACE.TABLE", help="verify this Iceberg table instead")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--fail-on-duplicates", action="store_true", help="exit 1 when a message id is repeated")
    verify.add_argument("--clean", action="store_true",
                        help="delete hidden temporaries left by killed writers (older than --older-than)")  # fmt: skip
    verify.add_argument("--older-than", type=float, default=3600.0, metavar="SECONDS",
                        help="with --clean: only temporaries untouched this long (default 3600)")  # fmt: skip
    compact = lake_sub.add_parser("compact", help="rewrite an Iceberg table's small files into files of the "
                                  "target size, partition by partition")  # fmt: skip
    compact.add_argument("--target-file-bytes", type=int, metavar="N",
                         help="default: the table's write.target-file-size-bytes, else 128 MiB")  # fmt: skip
    compact.add_argument("--min-files", type=int, default=2, metavar="N",
                         help="compact a partition once it has this many small files (default 2)")  # fmt: skip
    expire = lake_sub.add_parser("expire", help="expire an Iceberg table's old snapshots and delete the files "
                                 "only they used")  # fmt: skip
    expire.add_argument("--older-than", type=float, default=3600.0, metavar="SECONDS",
                        help="expire snapshots older than this (default 3600)")  # fmt: skip
    expire.add_argument("--retain-last", type=int, default=10, metavar="N",
                        help="keep the newest N snapshots whatever their age (default 10)")  # fmt: skip
    expire.add_argument(
        "--orphans-older-than",
        type=float,
        metavar="SECONDS",
        help="also delete files no snapshot refers to, untouched this long (a day or more is safe)",
    )
    for command in (compact, expire):
        command.add_argument("iceberg_table", metavar="NAMESPACE.TABLE", help="the Iceberg table")
    for command in (verify, compact, expire):
        command.add_argument("--catalog", help="the Iceberg catalog: sqlite:///PATH, a SQLAlchemy URL, http(s)://…")
        command.add_argument("--warehouse", help="the SQL catalog's warehouse: a path, s3://… or gs://…")

    dictionary_parser(sub)
    dec = sub.add_parser("decode", help="decode an NDJSON file with a BigQuery schema")
    dec.add_argument("input", type=Path, help="newline-delimited JSON events")
    dec.add_argument("--schema", type=Path, required=True, help="BigQuery schema JSON (as `bq show --schema`)")
    dec.add_argument("--out", type=Path, help="write the valid rows to this Parquet file")
    dec.add_argument("--rejects", type=Path, help="write rejects as NDJSON to this file (default: stderr, first 20)")
    dec.add_argument("--unknown-fields", choices=["reject", "ignore"], default="reject")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in ("demo", "publish", "lake", "dead-letters"):
            from streamlake_fast.cli import pipeline

            return int(getattr(pipeline, args.command.replace("-", "_"))(args))
        if args.command in ("serve", "push-handler"):
            return int(getattr(http, args.command.replace("-", "_"))(args))
        if args.command == "run":
            from streamlake_fast.cli.worker import run

            return run(args)
        if args.command == "dictionary":
            from streamlake_fast.cli.envelope import dictionary_command

            return dictionary_command(args)
        from streamlake_fast.cli import codec

        return codec.codec_demo(args) if args.command == "codec-demo" else codec.decode(args)
    except (StreamlakeError, OSError) as e:
        print(f"streamlake: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        missing = missing_extra(e)
        if missing is None:
            raise
        print(f"streamlake: error: {missing}", file=sys.stderr)
        return 2
