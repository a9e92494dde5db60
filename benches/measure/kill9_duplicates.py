"""kill -9 the worker mid-run, several times, then drain: rows, distinct ids, duplicates and missing per mode.

For each mode (BigQuery ``default`` stream, BigQuery ``committed`` stream, lake only on local disk, an Iceberg table
in a SQLite catalog on local disk), on a fresh
topic and subscription: publish N receipts (``streamlake publish --generate N``), run ``streamlake run`` and
``kill -9`` it ``--kills`` seconds after it is up (each time restarted at once), wait for the killed workers' leases
to lapse, then run it with ``--exit-when-drained``. Then count what landed (BigQuery through bqemulator's query API,
the lake through pyarrow.dataset and ``verify_lake``, the Iceberg table through pyiceberg's scan and
``verify_iceberg``). The tables carry a ``message_id`` column too (a metadata
column the worker fills), so duplicates are counted both by event id and by Pub/Sub message id.

Run from the repository root: ``.venv/bin/python benches/measure/kill9_duplicates.py [--events 100000]``.
Results: a markdown table on stdout, ``/tmp/measure/kill9_duplicates.json`` (``--json``), worker logs in
``/tmp/measure/logs/kill9_duplicates/`` (named after the JSON file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from _servers import OUT, ROOT, Server, code_under_test, create_topic_and_subscription, start_bigquery, start_pubsub

from streamlake_fast.codec.codec import Codec
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipt_schema, receipts
from streamlake_fast.sinks.lake import verify_lake
from streamlake_fast.transports.gcp.channels import bigquery_client

PROJECT = "measure-kill9"
STREAMLAKE = str(ROOT / ".venv/bin/streamlake")
ACK_DEADLINE = 10  # the subscription's and the worker's: killed workers' messages come back within ~10 s
MODES = {  # name → worker flags besides --subscription (TABLE / LAKE / SCHEMA filled in per run)
    "bigquery default": ["--table", "TABLE", "--mode", "default"],
    "bigquery committed": ["--table", "TABLE", "--mode", "committed"],
    "lake (max-file-age 60 s, default)": ["--lake", "LAKE", "--schema", "SCHEMA", "--partition-by", "event_time"],
    "lake (max-file-age 1 s)": ["--lake", "LAKE", "--schema", "SCHEMA", "--partition-by", "event_time",
                                "--max-file-age", "1"],
    "iceberg (SQLite catalog)": ["--iceberg-table", "k9.receipts", "--catalog", "CATALOG", "--warehouse", "LAKE",
                                 "--schema", "SCHEMA", "--partition-by", "event_time"],
}  # fmt: skip


@dataclass
class Result:
    mode: str
    published: int = 0
    rows: int = 0
    distinct_event_ids: int = 0
    distinct_message_ids: int = 0
    duplicates: int = 0  # rows beyond the first of each event id
    missing: int = 0  # published event ids not in the destination
    unexpected: int = 0  # ids in the destination that were never published
    rejects: int = 0
    kills: list[str] = field(default_factory=list)  # the last progress line before each kill
    drain_seconds: float = 0.0
    drain_totals: str = ""
    notes: list[str] = field(default_factory=list)


class WorkerProcess:
    """``streamlake run`` with its stderr read line by line into a log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.lines: list[str] = []
        self.up = threading.Event()  # set once the worker has printed its endpoints (built, about to run)
        self._log = log.open("w")
        self.proc = subprocess.Popen([STREAMLAKE, "run", *args], stderr=subprocess.PIPE, stdout=self._log, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            self._log.write(line)
            self._log.flush()
            if line.startswith("streamlake: "):
                self.up.set()

    def last_progress(self) -> str:
        return next((x for x in reversed(self.lines) if x.startswith("[worker]")), "(no progress line yet)")

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        self._log.close()
        return code


def publish(topic: str, n: int) -> tuple[int, float]:
    start = time.perf_counter()
    out = subprocess.run([STREAMLAKE, "publish", "--topic", topic, "--generate", str(n), "--progress-interval",
                          "3600"], capture_output=True, text=True)  # fmt: skip
    found = re.search(r"published ([\d,]+) events", out.stdout)
    if out.returncode != 0 or not found:
        raise RuntimeError(f"publish exited {out.returncode}: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    return int(found.group(1).replace(",", "")), time.perf_counter() - start


def expected_event_ids(n: int) -> set[str]:
    """The ids ``streamlake publish --generate n`` publishes (the generator's default seed)."""
    batch = Codec(receipt_schema()).decode([data for data, _ in receipts(n)]).batch
    return set(batch.column("event_id").to_pylist())


def create_table(suffix: str) -> str:
    from google.cloud import bigquery

    client = bigquery_client(PROJECT)
    dataset = f"ds_{suffix}"
    client.create_dataset(dataset)
    table = f"{PROJECT}.{dataset}.receipts"
    fields = [*RECEIPT_SCHEMA, {"name": "message_id", "type": "STRING", "mode": "NULLABLE"}]
    client.create_table(bigquery.Table(table, schema=[bigquery.SchemaField.from_api_repr(f) for f in fields]))
    return table


def landed_bigquery(table: str) -> tuple[list[str], list[str], int]:
    client = bigquery_client(PROJECT)
    rows = client.query(f"SELECT event_id, message_id FROM `{table}`").result().to_arrow(create_bqstorage_client=False)
    rejects = 0
    try:
        sql = f"SELECT COUNT(*) AS n FROM `{table}_rejects`"
        rejects = int(next(iter(client.query(sql).result()))["n"])
    except Exception:  # created only when the worker first needs it
        pass
    return rows.column("event_id").to_pylist(), rows.column("message_id").to_pylist(), rejects


def landed_lake(lake: Path, result: Result) -> tuple[list[str], list[str], int]:
    report = verify_lake(str(lake))
    result.notes.append(f"lake verify: {report.files} files, {report.duplicate_ids} duplicated message ids, "
                        f"{len(report.temporary_files)} temporaries left by killed workers")  # fmt: skip
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table(columns=["event_id", "message_id"])
    rejects = sum(len(p.read_text().splitlines()) for p in (lake / "_rejects").rglob("*.ndjson"))
    return table.column("event_id").to_pylist(), table.column("message_id").to_pylist(), rejects


def landed_iceberg(catalog: str, warehouse: Path, result: Result) -> tuple[list[str], list[str], int]:
    from streamlake_fast.sinks.iceberg import open_catalog
    from streamlake_fast.sinks.iceberg.verify import verify_iceberg

    table = open_catalog(catalog, warehouse=str(warehouse)).load_table("k9.receipts")
    report = verify_iceberg(table)
    result.notes.append(f"iceberg verify: {report.files} files, {report.duplicate_ids} duplicated message ids")
    rows = table.scan(selected_fields=("event_id", "message_id")).to_arrow()
    rejects = sum(len(p.read_text().splitlines()) for p in warehouse.rglob("_rejects/**/*.ndjson"))
    return rows.column("event_id").to_pylist(), rows.column("message_id").to_pylist(), rejects


def run_mode(mode: str, args: argparse.Namespace, expected: set[str], work: Path) -> Result:
    result = Result(mode)
    suffix = uuid.uuid4().hex[:8]
    topic = f"projects/{PROJECT}/topics/k9-{suffix}"
    subscription = f"projects/{PROJECT}/subscriptions/k9-{suffix}"
    bigquery: Server | None = None
    try:
        if "--table" in MODES[mode]:
            bigquery = start_bigquery(PROJECT)  # a fresh one per mode: bqemulator copies the table on every write
            os.environ["BIGQUERY_EMULATOR_HOST"] = bigquery.host
            os.environ["BIGQUERY_STORAGE_EMULATOR_HOST"] = bigquery.extra_host
        create_topic_and_subscription(topic, subscription, ACK_DEADLINE)
        table = create_table(suffix) if bigquery else ""
        lake = work / f"lake-{suffix}"
        schema = work / "receipts.json"
        schema.write_text(json.dumps(RECEIPT_SCHEMA))
        catalog = f"sqlite:///{work / f'catalog-{suffix}.db'}"
        fill = {"TABLE": table, "LAKE": str(lake), "SCHEMA": str(schema), "CATALOG": catalog}
        flags = ["--subscription", subscription, "--ack-deadline", str(ACK_DEADLINE), "--progress-interval", "1",
                 *(fill.get(a, a) for a in MODES[mode]), *args.worker_args.split()]  # fmt: skip
        result.published, seconds = publish(topic, args.events)
        print(f"[{mode}] published {result.published:,} in {seconds:.1f} s", flush=True)
        slug = re.sub(r"[^a-z0-9]+", "-", mode).strip("-")
        for i, after in enumerate(args.kills):
            worker = WorkerProcess(flags, args.logs / f"{slug}-{i}.log")
            if not worker.up.wait(60):
                raise RuntimeError(f"worker did not start: {worker.lines[-20:]}")
            time.sleep(after)
            if worker.proc.poll() is not None:
                result.notes.append(f"run {i} exited by itself before its kill")
            worker.proc.send_signal(signal.SIGKILL)
            worker.wait(30)
            result.kills.append(f"{after:g} s: {worker.last_progress()}")
            print(f"[{mode}] kill -9 after {after:g} s: {worker.last_progress()}", flush=True)
        time.sleep(ACK_DEADLINE + 2)  # the killed workers' leases lapse and their messages come back
        start = time.perf_counter()
        final = WorkerProcess([*flags, "--exit-when-drained"], args.logs / f"{slug}-drain.log")
        code = final.wait(args.drain_timeout)
        result.drain_seconds = time.perf_counter() - start
        result.drain_totals = next((x for x in reversed(final.lines) if x.startswith("events ")), "")
        if code != 0:
            result.notes.append(f"drain run exited {code}: {final.lines[-5:]}")
        print(f"[{mode}] drained in {result.drain_seconds:.1f} s: {result.drain_totals}", flush=True)
        if bigquery:
            ids, message_ids, result.rejects = landed_bigquery(table)
        elif "--iceberg-table" in MODES[mode]:
            ids, message_ids, result.rejects = landed_iceberg(catalog, lake, result)
        else:
            ids, message_ids, result.rejects = landed_lake(lake, result)
    finally:
        if bigquery is not None:
            bigquery.stop()
            del os.environ["BIGQUERY_EMULATOR_HOST"], os.environ["BIGQUERY_STORAGE_EMULATOR_HOST"]
    counts = Counter(ids)
    result.rows = len(ids)
    result.distinct_event_ids = len(counts)
    result.distinct_message_ids = len(set(message_ids))
    result.duplicates = result.rows - result.distinct_event_ids
    result.missing = len(expected - counts.keys())
    result.unexpected = len(counts.keys() - expected)
    shutil.rmtree(lake, ignore_errors=True)
    return result


def table(results: list[Result], kills: list[float]) -> str:
    lines = [
        "| mode | published | rows written | distinct event_id | distinct message_id | duplicates | missing | "
        "rejects | final drain (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r.mode} | {r.published:,} | {r.rows:,} | {r.distinct_event_ids:,} | "
                     f"{r.distinct_message_ids:,} | {r.duplicates:,} | {r.missing:,} | {r.rejects:,} | "
                     f"{r.drain_seconds:.1f} |")  # fmt: skip
    after = ", ".join(f"{k:g}" for k in kills)
    lines.append(f"\nkill -9 after {after} s of running (from the worker's start-up lines), restarted at once; "
                 f"then {ACK_DEADLINE + 2} s for leases to lapse and a drain run.")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kills", type=lambda s: [float(x) for x in s.split(",")], default=[2.0, 3.0, 4.0],
                        help="seconds each run lives before its kill -9, comma-separated (default 2,3,4)")  # fmt: skip
    parser.add_argument("--modes", type=lambda s: s.split(";"), default=list(MODES),
                        help=f"';'-separated, of: {'; '.join(MODES)}")  # fmt: skip
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--worker-args", default="", help="more `streamlake run` flags, e.g. '--max-rows 500'")
    parser.add_argument("--json", type=Path, default=OUT / "kill9_duplicates.json", help="where the results go")
    args = parser.parse_args()
    args.logs = OUT / "logs" / args.json.stem  # worker logs: one per run
    args.logs.mkdir(parents=True, exist_ok=True)
    work = OUT / "kill9-work"
    work.mkdir(parents=True, exist_ok=True)
    print(code_under_test(), flush=True)
    started = time.perf_counter()
    expected = expected_event_ids(args.events)
    pubsub = start_pubsub()
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    results: list[Result] = []
    try:
        for mode in args.modes:
            mode_start = time.perf_counter()
            results.append(run_mode(mode, args, expected, work))
            print(f"[{mode}] mode wall time {time.perf_counter() - mode_start:.1f} s", flush=True)
    finally:
        pubsub.stop()
    print()
    print(table(results, args.kills))
    if args.worker_args:
        print(f"worker flags added: {args.worker_args}")
    for r in results:
        print(f"\n{r.mode}:")
        for line in [*r.kills, f"drain: {r.drain_totals}", *r.notes, f"ids never published: {r.unexpected}"]:
            print(f"  {line}")
    print(f"\nwall time: {time.perf_counter() - started:.1f} s")
    out: dict[str, Any] = {"events": args.events, "kills": args.kills, "worker_args": args.worker_args,
                           "results": [asdict(r) for r in results],
                           "wall_seconds": time.perf_counter() - started}  # fmt: skip
    args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
