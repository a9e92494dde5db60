"""The runnable pipeline: ``python -m streamlake_fast.runtimes.beam --subscription … (--table … | --lake …)``.

Pub/Sub (with attributes) → :class:`DecodeEvents` → :class:`WriteToBigQueryArrow` and/or :class:`WriteToLake`; the
rejects and the rows BigQuery refused → :class:`WriteDeadLetters` (``--dead-letter-topic``, else the table's
``<table>_rejects``, else ``<lake>/_rejects``). Every other flag is one of Beam's pipeline options (``--runner``,
``--project``, ``--region``, ``--temp_location``, ``--extra_package``, …).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from streamlake_fast.cli.destinations import dead_letter_arguments
from streamlake_fast.codec.schema import Schema
from streamlake_fast.destinations import Destinations
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.bigquery import WriteToBigQueryArrow
from streamlake_fast.runtimes.beam.deadletter import WriteDeadLetters
from streamlake_fast.runtimes.beam.decode import DecodeEvents
from streamlake_fast.runtimes.beam.lake import WriteToLake

__all__ = ["build", "main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m streamlake_fast.runtimes.beam", description=__doc__.split("\n\n")[0])
    p.add_argument("--subscription", required=True, help="projects/P/subscriptions/S")
    p.add_argument("--table", help="project.dataset.table (Storage Write API)")
    p.add_argument("--lake", help="lake root: a path, gs://bucket/prefix or s3://bucket/prefix")
    p.add_argument("--schema", help="BigQuery schema JSON of the events (default: the table's columns)")
    p.add_argument("--partition-by", help="the lake's date column (default: publish_time)")
    dead_letter_arguments(p)
    p.add_argument("--unknown-fields", choices=["reject", "ignore"], default="reject")
    p.add_argument("--mode", choices=["default", "committed"], default="default", help="Storage Write stream")
    p.add_argument("--max-batch-size", type=int, default=10_000, help="messages per decode call (default 10,000)")
    p.add_argument("--max-batch-duration-secs", type=float, default=1.0,
                   help="longest wait for a batch to fill (default 1 s)")  # fmt: skip
    return p


def _events_schema(args: argparse.Namespace) -> Schema:
    if not args.table:
        return Schema.from_bigquery(args.schema)
    from streamlake_fast.transports.gcp.tables import events_schema

    return events_schema(args.table, args.schema)


def _destinations(args: argparse.Namespace) -> Destinations:
    d = Destinations.of(table=args.table or "", lake=args.lake or "", schema=args.schema,
                        partition_by=args.partition_by, dead_letter_topic=args.dead_letter_topic,
                        dead_letter_queue=args.dead_letter_queue, dead_letter_table=args.dead_letter_table,
                        dead_letter_dir=args.dead_letter_dir, mode=args.mode,
                        unknown_fields=args.unknown_fields)  # fmt: skip
    try:
        d.check()
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    return d


def build(p: beam.Pipeline, args: argparse.Namespace) -> None:
    """Add the pipeline of ``args`` (see :func:`parser`) to ``p``."""
    _destinations(args)
    schema = _events_schema(args)
    messages = p | "Read" >> beam.io.ReadFromPubSub(subscription=args.subscription, with_attributes=True)
    decoded = messages | "DecodeEvents" >> DecodeEvents(
        schema,
        unknown_fields=args.unknown_fields,
        max_batch_size=args.max_batch_size,
        max_batch_duration_secs=args.max_batch_duration_secs,
        source=args.subscription,
    )
    dead: list[Any] = [decoded.rejects]
    if args.table:
        dead.append(decoded.valid | "WriteToBigQuery" >> WriteToBigQueryArrow(args.table, mode=args.mode))
    if args.lake:
        _ = decoded.valid | "WriteToLake" >> WriteToLake(args.lake, schema, partition_by=args.partition_by)
    where = _destinations(args).dead_letter()
    _ = tuple(dead) | "DeadLetters" >> beam.Flatten() | "WriteDeadLetters" >> WriteDeadLetters(dead_letter=where)


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apache_beam.typehints").setLevel(logging.WARNING)  # one line per string annotation
    args, beam_args = parser().parse_known_args(argv)
    options = PipelineOptions(beam_args, save_main_session=False)
    options.view_as(StandardOptions).streaming = True  # Pub/Sub is unbounded
    with beam.Pipeline(options=options) as p:
        build(p, args)
