"""``streamlake run``: the worker."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamlake_fast.config import WorkerConfig

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    import logging
    import signal

    from streamlake_fast.runtimes.worker import build_worker, endpoints

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = _config(args)
    worker = build_worker(config)
    worker.on_overrun = _exit_now
    for line in endpoints(config):
        print(f"streamlake: {line}", file=sys.stderr)
    signals = {"count": 0}

    def on_signal(signum: int, _frame: object) -> None:
        # Only flags: the worker reports the stop from its own loop (printing here could interrupt a write to
        # stderr in progress on the same thread and raise "reentrant call").
        signals["count"] += 1
        name = signal.Signals(signum).name
        if signals["count"] == 1:
            worker.stop(name)
        else:
            worker.abort(f"second signal ({name})")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stats = worker.run()
    print(stats.totals(), file=sys.stderr)
    print(worker.cost().line(), file=sys.stderr)
    return 0


def _config(args: argparse.Namespace) -> WorkerConfig:
    """The config file's settings (or the defaults), with the flags given on the command line over them."""
    import msgspec

    from streamlake_fast.config import load_config

    config = load_config(args.config)
    top = {"subscription": args.subscription, "queue": args.queue, "table": args.table,
           "dead_letter_topic": args.dead_letter_topic, "dead_letter_table": args.dead_letter_table,
           "dead_letter_queue": args.dead_letter_queue, "dead_letter_dir": args.dead_letter_dir,
           "mode": args.mode, "schema": args.schema,
           "progress_interval": args.progress_interval, "exit_when_drained": args.exit_when_drained,
           "metrics_port": args.metrics_port, "metrics_address": args.metrics_address,
           "shutdown_timeout": args.shutdown_timeout,
           "prices": str(args.prices) if args.prices is not None else None}  # fmt: skip
    lake = {"root": args.lake, "partition_by": args.partition_by, "max_file_age": args.max_file_age,
            "target_file_bytes": args.target_file_bytes, "max_open_files": args.max_open_files}  # fmt: skip
    iceberg = {"table": args.iceberg_table, "catalog": args.catalog, "warehouse": args.warehouse,
               "commit_interval": args.commit_interval}  # fmt: skip
    sqs = {"visibility_timeout": args.visibility_timeout, "wait_time": args.wait_time,
           "concurrent_receives": args.concurrent_receives}  # fmt: skip
    codec = {"redact_values": args.redact_values or None,
             "envelope_dictionaries": [str(p) for p in args.envelope_dictionary] or None}  # fmt: skip
    codec = {k: v for k, v in codec.items() if v is not None}
    batch = {"max_rows": args.max_rows, "max_bytes": args.max_bytes, "max_latency": args.max_latency}
    create = {"enabled": args.create_table, "partition_type": args.partition_type,
              "partition_expiration_days": args.partition_expiration_days,
              "require_partition_filter": args.require_partition_filter, "cluster_by": args.cluster_by,
              "metadata_columns": args.metadata_columns}  # fmt: skip
    update = {"mode": args.schema_update, "check_interval": args.schema_check_interval,
              "types_from": args.new_columns_schema, "relax_required": args.relax_required}  # fmt: skip
    config = msgspec.structs.replace(
        config,
        **{k: v for k, v in top.items() if v is not None},
        batch=msgspec.structs.replace(config.batch, **{k: v for k, v in batch.items() if v is not None}),
        sqs=msgspec.structs.replace(config.sqs, **{k: v for k, v in sqs.items() if v is not None}),
        codec=msgspec.structs.replace(config.codec, **codec),
        lake=msgspec.structs.replace(config.lake, **{k: v for k, v in lake.items() if v is not None}),
        iceberg=msgspec.structs.replace(config.iceberg, **{k: v for k, v in iceberg.items() if v is not None}),
        create_table=msgspec.structs.replace(config.create_table, **{k: v for k, v in create.items() if v is not None}),
        schema_update=msgspec.structs.replace(
            config.schema_update, **{k: v for k, v in update.items() if v is not None}
        ),
        pubsub=msgspec.structs.replace(
            config.pubsub,
            **{
                k: v
                for k, v in {
                    "concurrent_pulls": args.concurrent_pulls,
                    "ack_deadline": args.ack_deadline,
                    "receive": args.receive,
                }.items()
                if v is not None
            },
        ),
    )
    return config


def _exit_now() -> None:
    """``shutdown_timeout`` passed with a write still blocked: exit at once. Nothing unacknowledged is lost — Pub/Sub
    redelivers it when its lease lapses."""
    import os

    sys.stderr.write("[worker] shutdown_timeout passed with a write still in progress: exiting now (3); "
                     "unacknowledged messages come back when their leases lapse\n")  # fmt: skip
    sys.stderr.flush()
    os._exit(3)
