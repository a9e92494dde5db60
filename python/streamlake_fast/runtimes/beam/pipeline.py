"""The runnable pipeline: ``python -m streamlake_fast.runtimes.beam --subscription … (--table … | --lake … |
--config routes.toml)``.

Pub/Sub (with attributes) → :class:`DecodeEvents` → :class:`WriteToBigQueryArrow` and/or :class:`WriteToLake`; the
rejects and the rows BigQuery refused → :class:`WriteDeadLetters` (``--dead-letter-topic``, else the table's
``<table>_rejects``, else ``<lake>/_rejects``). A ``--config`` file (``streamlake run``'s) gives the destinations,
routes included (the flags override it); a routed stream's rows are keyed by destination. Every other flag is one of
Beam's pipeline options (``--runner``, ``--project``, ``--region``, ``--temp_location``, ``--extra_package``, …).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
import msgspec
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from streamlake_fast.cli.destinations import dead_letter_arguments
from streamlake_fast.codec.schema import Schema
from streamlake_fast.config import WorkerConfig, load_config
from streamlake_fast.destinations import Destinations
from streamlake_fast.destinations.split import Splitter
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.bigquery import WriteToBigQueryArrow
from streamlake_fast.runtimes.beam.deadletter import WriteDeadLetters
from streamlake_fast.runtimes.beam.decode import DecodeEvents
from streamlake_fast.runtimes.beam.lake import WriteToLake

__all__ = ["build", "main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m streamlake_fast.runtimes.beam", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="TOML config of the destinations and routes (streamlake run's; flags override)")
    p.add_argument("--subscription", help="projects/P/subscriptions/S (default: the config's)")
    p.add_argument("--table", help="project.dataset.table (Storage Write API)")
    p.add_argument("--lake", help="lake root: a path, gs://bucket/prefix or s3://bucket/prefix")
    p.add_argument("--schema", help="BigQuery schema JSON of the events (default: the table's columns)")
    p.add_argument("--partition-by", help="the lake's date column (default: publish_time)")
    dead_letter_arguments(p)
    p.add_argument("--unknown-fields", choices=["reject", "ignore"], help="default: reject")
    p.add_argument("--mode", choices=["default", "committed"], help="Storage Write stream (default: default)")
    p.add_argument("--max-batch-size", type=int, default=10_000, help="messages per decode call (default 10,000)")
    p.add_argument("--max-batch-duration-secs", type=float, default=1.0,
                   help="longest wait for a batch to fill (default 1 s)")  # fmt: skip
    return p


def _destinations(args: argparse.Namespace) -> WorkerConfig:
    """The config file's destinations (or the defaults) with the flags given over them, checked."""
    config = load_config(args.config)
    top = {"subscription": args.subscription, "table": args.table, "schema": args.schema, "mode": args.mode,
           "dead_letter_topic": args.dead_letter_topic, "dead_letter_queue": args.dead_letter_queue,
           "dead_letter_table": args.dead_letter_table, "dead_letter_dir": args.dead_letter_dir}  # fmt: skip
    lake = {"root": args.lake, "partition_by": args.partition_by}
    codec = {"unknown_fields": args.unknown_fields}
    d = msgspec.structs.replace(
        config, **{k: v for k, v in top.items() if v is not None},
        lake=msgspec.structs.replace(config.lake, **{k: v for k, v in lake.items() if v is not None}),
        codec=msgspec.structs.replace(config.codec, **{k: v for k, v in codec.items() if v is not None}),
    )  # fmt: skip
    try:
        if not d.subscription:
            raise ConfigError("no source: pass --subscription projects/P/subscriptions/S (or set it in --config)")
        d.check()
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    return d


def build(p: beam.Pipeline, args: argparse.Namespace) -> None:
    """Add the pipeline of ``args`` (see :func:`parser`) to ``p``."""
    d = _destinations(args)
    messages = p | "Read" >> beam.io.ReadFromPubSub(subscription=d.subscription, with_attributes=True)
    batching = {"max_batch_size": args.max_batch_size, "max_batch_duration_secs": args.max_batch_duration_secs,
                "source": d.subscription}  # fmt: skip
    if d.routed:
        _routed(d, messages, batching)
        return
    schema = _events_schema(d)
    codec = d.codec
    decoded = messages | "DecodeEvents" >> DecodeEvents(schema, unknown_fields=codec.unknown_fields,
                                                        max_message_bytes=codec.max_message_bytes,
                                                        max_depth=codec.max_depth,
                                                        envelope_dictionaries=codec.envelope_dictionaries,
                                                        **batching)  # fmt: skip
    dead: list[Any] = [decoded.rejects]
    if d.table:
        dead.append(decoded.valid | "WriteToBigQuery" >> WriteToBigQueryArrow(d.table, mode=d.mode))
    if d.lake.root:
        lake = d.lake
        _ = decoded.valid | "WriteToLake" >> WriteToLake(lake.root, schema, partition_by=lake.partition_by,
                                                          target_file_bytes=lake.target_file_bytes,
                                                          compression=lake.compression)  # fmt: skip
    where = d.dead_letter()
    _ = tuple(dead) | "DeadLetters" >> beam.Flatten() | "WriteDeadLetters" >> WriteDeadLetters(dead_letter=where)


def _events_schema(d: Destinations) -> Schema:
    if not d.table:
        assert d.schema  # checked: a lake without a table has a schema
        return Schema.from_bigquery(d.schema)
    from streamlake_fast.transports.gcp.tables import events_schema

    return events_schema(d.table, d.schema)


def _routed(d: Destinations, messages: beam.PCollection, batching: dict[str, Any]) -> None:
    """Each row to its route's table and lake path, each dead letter to its route's destination."""
    plans = Splitter(d).plans.values()
    decoded = messages | "DecodeEvents" >> DecodeEvents(routes=d, **batching)
    dead: list[Any] = [decoded.rejects]
    max_open = d.routing.max_open
    if any(plan.d.table for plan in plans):
        dead.append(decoded.valid | "WriteToBigQuery" >> WriteToBigQueryArrow(mode=d.mode, max_open=max_open))
    if any(plan.d.lake.root for plan in plans):
        lake = d.lake
        write = WriteToLake(target_file_bytes=lake.target_file_bytes, compression=lake.compression, max_open=max_open)
        _ = decoded.valid | "WriteToLake" >> write
    _ = tuple(dead) | "DeadLetters" >> beam.Flatten() | "WriteDeadLetters" >> WriteDeadLetters()


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apache_beam.typehints").setLevel(logging.WARNING)  # one line per string annotation
    args, beam_args = parser().parse_known_args(argv)
    options = PipelineOptions(beam_args, save_main_session=False)
    options.view_as(StandardOptions).streaming = True  # Pub/Sub is unbounded
    with beam.Pipeline(options=options) as p:
        build(p, args)
