"""Worker CPU per event in a steady process, plain messages against envelopes, end to end (Pub/Sub emulator →
decode → BigQuery + the lake → ack).

``make bench-worker`` times one cold run per setup; here one process runs each setup ``--rounds`` times,
alternating, each round on a subscription of its own to one published backlog (so every round reads the same
messages), and reports the medians of the rounds after the first (which warms the process up: connections,
first allocations, the BigQuery stream). CPU is this process's (``getrusage``: user and system, all threads); the
emulators' is not counted.

Run from the repository root: ``.venv/bin/python benches/measure/worker_cpu.py [--events 200000] [--rounds 5]
[--sinks bigquery+lake|lake] [--only plain|envelopes]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from _servers import ROOT, code_under_test, start_bigquery, start_pubsub

sys.path.insert(0, str(ROOT / "benches"))
from run_worker import run_until_acked

from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.config import BatchConfig, LakeConfig, WorkerConfig
from streamlake_fast.edge.publisher import Publisher
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.runtimes.worker import build_worker

PROJECT = "measure-project"


def backlog(events: int, rounds: int, envelope: Envelope | None) -> tuple[list[str], str, int]:
    """(a subscription per round, the dead-letter topic, messages per subscription) of ``events`` receipts (1%
    invalid) published once: as plain messages by Google's client, or in envelopes by this project's publisher."""
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"projects/{PROJECT}/topics/t-{suffix}", f"projects/{PROJECT}/topics/dlq-{suffix}"
    publisher = pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(
        max_messages=1000, max_bytes=5_000_000, max_latency=0.05))  # fmt: skip
    publisher.create_topic(name=topic)
    publisher.create_topic(name=dlq)
    subscriber = pubsub_v1.SubscriberClient()
    subscriptions = [f"projects/{PROJECT}/subscriptions/s-{suffix}-{r}" for r in range(rounds)]
    for s in subscriptions:
        subscriber.create_subscription(name=s, topic=topic, ack_deadline_seconds=60)
    data = [d for d, _ in receipts(events, seed=11, invalid_fraction=0.01)]
    if envelope is None:
        for future in [publisher.publish(topic, d) for d in data]:
            future.result(timeout=300)
        return subscriptions, dlq, events
    with Publisher(topic, validate=False, enrich=False, envelope=envelope) as sealer:
        sealer.publish(data)
    return subscriptions, dlq, sealer.messages


def table(suffix: str) -> str:
    from google.cloud import bigquery

    from streamlake_fast.transports.gcp.channels import bigquery_client

    client = bigquery_client(PROJECT)
    client.create_dataset(f"ds_{suffix}")
    name = f"{PROJECT}.ds_{suffix}.receipts"
    client.create_table(bigquery.Table(name, schema=[bigquery.SchemaField.from_api_repr(f) for f in RECEIPT_SCHEMA]))
    return name


def run(subscription: str, dlq: str, events: int, messages: int, sinks: str) -> tuple[float, float, float]:
    """(user, system, page faults) per event of one worker draining ``subscription``."""
    work = Path(tempfile.mkdtemp(prefix="worker-cpu-"))
    schema = work / "receipts.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    config = WorkerConfig(subscription=subscription, dead_letter_topic=dlq, schema=str(schema),
                          table=table(uuid.uuid4().hex[:8]) if "bigquery" in sinks else "",
                          lake=LakeConfig(root=str(work / "lake"), partition_by="event_time"),
                          progress_interval=3600, batch=BatchConfig(max_rows=20_000))  # fmt: skip
    worker = build_worker(config)
    before = resource.getrusage(resource.RUSAGE_SELF)
    run_until_acked(worker, events, messages)
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert worker.stats.rows == events - events // 100, worker.stats.rows  # every valid receipt written
    return ((after.ru_utime - before.ru_utime) / events * 1e6, (after.ru_stime - before.ru_stime) / events * 1e6,
            (after.ru_minflt - before.ru_minflt) / events)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sinks", choices=["bigquery+lake", "lake"], default="bigquery+lake")
    parser.add_argument("--only", choices=["plain", "envelopes"], help="one setup, its rounds back to back")
    args = parser.parse_args()
    print(code_under_test())
    pubsub = start_pubsub()
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    bigquery = start_bigquery(PROJECT)
    os.environ["BIGQUERY_EMULATOR_HOST"] = bigquery.host
    os.environ["BIGQUERY_STORAGE_EMULATOR_HOST"] = bigquery.extra_host
    try:
        setups = {"plain messages": None, "zstd envelopes of 64 KB": Envelope(max_bytes=64_000)}
        if args.only:
            setups = {k: v for k, v in setups.items() if (v is None) == (args.only == "plain")}
        backlogs = {name: backlog(args.events, args.rounds, e) for name, e in setups.items()}
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in setups}
        for r in range(args.rounds):
            for name, (subscriptions, dlq, messages) in backlogs.items():
                u, s, faults = run(subscriptions[r], dlq, args.events, messages, args.sinks)
                print(f"round {r} {name:24s} {u + s:6.2f} CPU µs/event (user {u:.2f}, system {s:.2f}), "
                      f"{faults:.3f} page faults/event{'  (warm-up)' if r == 0 else ''}", flush=True)  # fmt: skip
                if r:
                    results[name].append((u, s, faults))
        print(f"\n{args.events:,} receipts into {args.sinks}, medians of rounds 1-{args.rounds - 1}:")
        for name, rows in results.items():
            u, s, f = (statistics.median(row[i] for row in rows) for i in range(3))
            total = statistics.median(row[0] + row[1] for row in rows)
            print(f"  {name:24s} {total:.2f} CPU µs/event (user {u:.2f}, system {s:.2f}), {f:.3f} page faults/event")
    finally:
        pubsub.stop()
        bigquery.stop()


if __name__ == "__main__":
    main()
