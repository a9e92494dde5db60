"""``streamlake demo``: the whole path on one machine.

``cloud="gcp"`` (the default) starts Google's Pub/Sub emulator and bqemulator when installed (see
:mod:`streamlake_fast.local`), publishes generated receipts (1% invalid, as a producer without validation would send
them), and runs the worker into a local lake (Parquet, partitioned by event date) and a BigQuery table, dead
letters to ``<lake>/_rejects``. Without the Pub/Sub emulator the same worker runs from an in-process source.
``cloud="aws"`` does the same with moto's local SQS and S3: published to a queue, the lake in a bucket
(``s3://streamlake-demo/<lake>``). Ends with a summary and a query over the lake.
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa

from streamlake_fast.codec.codec import Codec
from streamlake_fast.exceptions import ConfigError, ServerUnavailable, StreamlakeError
from streamlake_fast.local import LocalServer, start_bigquery, start_moto, start_pubsub
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipt_batches, receipt_schema
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.sinks.lake import LakeReport, LakeSink, lake_schema, verify_lake
from streamlake_fast.sources.base import Source
from streamlake_fast.worker import Worker, WorkerStats

__all__ = [
    "DemoReport",
    "Env",
    "Publishing",
    "count_table",
    "create_topic",
    "prepare_lake",
    "query_lake",
    "run_demo",
    "start_server",
]

PROJECT = "streamlake-demo"
BUCKET = "streamlake-demo"
#: moto's SQS passes about 700 events/s end to end here: the AWS demo's default size.
AWS_EVENTS = 20_000
MARKER = ".streamlake-demo"
ICEBERG_TABLE = "demo.receipts"
CHUNK = 10_000


#: NDJSON bytes per envelope when the demo seals its receipts (about 150 receipts each).
DEMO_ENVELOPE_BYTES = 64_000


@dataclass
class DemoReport:
    events: int
    published: int = 0
    publish_seconds: float = 0.0
    mode: str = "in-process"  # or "pubsub", "sqs"
    stats: WorkerStats | None = None
    sink_rows: dict[str, int] = field(default_factory=dict)
    table_rows: int | None = None  # COUNT(*) of the BigQuery table, when there is one
    rejects_written: int = 0
    lake: LakeReport | None = None
    query: str = ""
    query_result: list[tuple[Any, ...]] = field(default_factory=list)
    cost: str = ""  # the worker's cost line (streamlake_fast.cost)
    envelope: str = ""  # "zstd": the publisher seals the receipts into envelopes (streamlake_fast.codec.envelope)


def prepare_lake(lake: Path) -> None:
    if lake.exists() and any(lake.iterdir()):
        if not (lake / MARKER).exists():
            raise ConfigError(f"{lake} is not empty and was not made by a previous demo; pass another --lake")
        shutil.rmtree(lake)
    lake.mkdir(parents=True, exist_ok=True)
    (lake / MARKER).write_text("made by `streamlake demo`; the next demo run replaces this directory\n")


class Env:
    """Point the cloud clients at the local servers for the demo's duration."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved = {k: os.environ.get(k) for k in values}

    def __enter__(self) -> None:
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_server(what: str, start: Any, say: Any) -> LocalServer | None:
    try:
        server: LocalServer = start()
    except (ServerUnavailable, OSError) as e:  # not installed, or a configured command that cannot run
        say(f"{what}: not available ({e})")
        return None
    say(f"{what}: started on {server.host}")
    return server


def _publisher_process(target: dict[str, str], env: dict[str, str], events: int, invalid_fraction: float, seed: int,
                       window: int, published: Any, consumed: Any) -> None:  # fmt: skip
    """The edge processor, in a process of its own: generate and publish (``target``: a ``topic`` or a ``queue``),
    staying at most ``window`` events ahead of the worker (a backlog of a million slows the Pub/Sub emulator's pulls
    more than tenfold)."""
    os.environ.update(env)
    from streamlake_fast.codec.envelope import Envelope
    from streamlake_fast.edge.publisher import Publisher

    # As a producer without the edge's validation would: the invalid 1% reaches the worker's dead-letter path.
    envelope = Envelope(max_bytes=DEMO_ENVELOPE_BYTES) if target.get("envelope") else None
    with Publisher(target.get("topic"), receipt_schema(), queue=target.get("queue"), validate=False,
                   enrich=False, envelope=envelope) as publisher:  # fmt: skip
        for chunk in receipt_batches(events, CHUNK, seed=seed, invalid_fraction=invalid_fraction):
            while published.value - consumed.value > window:
                time.sleep(0.02)
            sent = publisher.publish(chunk).published
            with published.get_lock():
                published.value += sent


class Publishing:
    """Runs ``publisher`` (:func:`_publisher_process`'s signature) in a process of its own beside the worker,
    reports its progress, stops the worker at the end."""

    def __init__(self, target: dict[str, str], env: dict[str, str], report: DemoReport, invalid_fraction: float,
                 seed: int, say: Any, interval: float, window: int = 50_000,
                 publisher: Callable[..., None] | None = None) -> None:  # fmt: skip
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding gRPC threads
        self.published = ctx.Value("q", 0)
        self.consumed = ctx.Value("q", 0)
        self.process = ctx.Process(
            target=publisher or _publisher_process,
            args=(
                {**target, **({"envelope": report.envelope} if report.envelope else {})},
                env,
                report.events,
                invalid_fraction,
                seed,
                window,
                self.published,
                self.consumed,
            ),
            name="publisher",
            daemon=True,
        )
        self.report, self.say, self.interval, self.window = report, say, interval, window

    def start(self, worker: Worker) -> None:
        self.process.start()
        self.started = time.perf_counter()
        threading.Thread(target=self._watch, args=(worker,), name="demo-watch", daemon=True).start()

    def _watch(self, worker: Worker) -> None:
        last = time.perf_counter()
        finished = False
        while True:
            self.consumed.value = worker.stats.events
            if not finished and not self.process.is_alive():
                finished = True
                self.report.publish_seconds = time.perf_counter() - self.started
                self.say(f"[publish] {self.published.value:,} events in {self.report.publish_seconds:.1f} s")
            if finished and (worker.stats.events >= self.published.value or self.process.exitcode != 0):
                worker.stop("every published event received")
                return
            if time.perf_counter() - last >= self.interval and not finished:
                last = time.perf_counter()
                rate = self.published.value / (last - self.started)
                self.say(f"[publish] {self.published.value:,} of {self.report.events:,} events ({rate:,.0f}/s)")
            time.sleep(0.05)

    def finish(self) -> None:
        self.process.join(30)
        self.report.published = int(self.published.value)
        if self.process.exitcode != 0:
            raise StreamlakeError(f"the publisher process failed (exit code {self.process.exitcode})")


def create_topic(topic: str) -> None:
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    pubsub_v1.PublisherClient().create_topic(name=topic)
    subscription = topic.replace("/topics/", "/subscriptions/")
    pubsub_v1.SubscriberClient().create_subscription(name=subscription, topic=topic, ack_deadline_seconds=60)


def _create_table(table: str) -> None:
    from google.cloud import bigquery

    from streamlake_fast.transports.gcp.channels import bigquery_client

    client = bigquery_client(PROJECT)
    client.create_dataset(table.rsplit(".", 1)[0], exists_ok=True)
    fields = [bigquery.SchemaField.from_api_repr(f) for f in RECEIPT_SCHEMA]
    client.create_table(bigquery.Table(table, schema=fields), exists_ok=True)


def count_table(table: str) -> int:
    from streamlake_fast.transports.gcp.channels import bigquery_client

    rows = list(bigquery_client(PROJECT).query(f"SELECT COUNT(*) AS n FROM `{table}`").result())
    return int(rows[0]["n"])


def query_table(table: pa.Table) -> tuple[str, list[tuple[Any, ...]]]:
    """Top stores by revenue over an Iceberg table's scan (pyarrow)."""
    agg = table.group_by("store_id").aggregate([("store_id", "count"), ("total", "sum")])
    agg = agg.sort_by([("total_sum", "descending")]).slice(0, 5)
    rows = list(zip(*(agg.column(c).to_pylist() for c in ("store_id", "store_id_count", "total_sum")), strict=True))
    return "pyiceberg scan → pyarrow: group_by(store_id).aggregate(count, sum(total)) top 5", rows


def query_lake(lake: str) -> tuple[str, list[tuple[Any, ...]]]:
    """Top stores by revenue, straight off the Parquet files (DuckDB when installed and the lake is local, else
    pyarrow)."""
    if "://" in lake or importlib.util.find_spec("duckdb") is None:
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        fs, path = pafs.FileSystem.from_uri(lake if "://" in lake else str(Path(lake).absolute()))
        table = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table(
            columns=["store_id", "total"]
        )
        _, rows = query_table(table)
        return "pyarrow.dataset: group_by(store_id).aggregate(count, sum(total)) top 5", rows
    sql = (
        f"SELECT store_id, count(*) AS receipts, sum(total) AS revenue "
        f"FROM read_parquet('{lake}/**/*.parquet', hive_partitioning = true) GROUP BY store_id "
        f"ORDER BY revenue DESC LIMIT 5"
    )
    import duckdb

    with contextlib.closing(duckdb.connect()) as con:
        return f"duckdb: {sql}", [tuple(r) for r in con.execute(sql).fetchall()]


def run_demo(
    events: int = 1_000_000,
    *,
    cloud: str = "gcp",
    lake: str | Path = "lake",
    invalid_fraction: float = 0.01,
    seed: int = 42,
    use_emulators: bool = True,
    progress_interval: float = 5.0,
    progress: TextIO | None = None,
    lake_format: str = "parquet",
    envelope: str = "",
) -> DemoReport:
    """Run the pipeline on ``events`` generated receipts; progress goes to ``progress`` (stderr). ``cloud="aws"``
    runs it on moto's SQS and S3 (the lake at ``s3://streamlake-demo/<name of lake>``). ``lake_format="iceberg"``
    lands the receipts in the Iceberg table ``demo.receipts`` instead (a SQLite catalog and the warehouse under
    ``lake``), maintained as it is written. ``envelope="zstd"``: the publisher seals the receipts into envelopes
    of :data:`DEMO_ENVELOPE_BYTES` (the worker opens them)."""
    out = progress or sys.stderr

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    if cloud not in ("gcp", "aws"):
        raise ConfigError(f"--cloud must be gcp or aws, not {cloud!r}")
    if lake_format not in ("parquet", "iceberg"):
        raise ConfigError(f"--lake-format must be parquet or iceberg, not {lake_format!r}")
    if lake_format == "iceberg" and cloud == "aws":
        raise ConfigError("--lake-format iceberg runs on --cloud gcp (a SQLite catalog, the warehouse on disk)")
    if envelope not in ("", "zstd"):
        raise ConfigError(f"--envelope must be zstd, not {envelope!r}")
    report = DemoReport(events, envelope=envelope)
    servers: list[LocalServer] = []
    try:
        if cloud == "aws":
            moto = start_moto()  # no fallback: the AWS demo is about SQS and S3
            servers = [moto]
            say(f"moto's server (SQS, S3): started on {moto.host}")
            with Env(_aws_env(moto.host)):
                queue, sender, root = _aws_path(report, Path(lake).name or "lake", invalid_fraction, seed, say,
                                                progress_interval)  # fmt: skip
                # files every 10 s: SQS messages wait invisible until their file is visible
                _run(report, queue, sender, [_lake_sink(root, 10.0)], root, None, progress_interval, say, out)
            return report
        prepare_lake(Path(lake))
        pubsub = start_server("Pub/Sub emulator", start_pubsub, say) if use_emulators else None
        bigquery = start_server("BigQuery emulator", lambda: start_bigquery(PROJECT), say) if use_emulators else None
        servers = [s for s in (pubsub, bigquery) if s is not None]
        env = {}
        if pubsub:
            env["PUBSUB_EMULATOR_HOST"] = pubsub.host
        if bigquery:
            env["BIGQUERY_EMULATOR_HOST"] = bigquery.host
            env["BIGQUERY_STORAGE_EMULATOR_HOST"] = bigquery.extra_host
        with Env(env):
            sinks: list[Sink] = []
            table = f"{PROJECT}.demo.receipts" if bigquery else None
            if table:
                from streamlake_fast.sinks.bigquery import BigQuerySink

                _create_table(table)
                sinks.append(BigQuerySink(table))
            sinks.append(_iceberg_sink(Path(lake)) if lake_format == "iceberg" else _lake_sink(str(lake)))
            source, publishing = _gcp_path(report, pubsub is not None, invalid_fraction, seed, say, progress_interval)
            _run(report, source, publishing, sinks, str(lake), table, progress_interval, say, out)
    finally:
        for s in servers:
            s.stop()
    return report


def _lake_sink(root: str, max_file_age: float = 60.0) -> LakeSink:
    return LakeSink(root, schema=lake_schema(receipt_schema().to_arrow()), partition_by="event_time",
                    max_file_age=max_file_age)  # fmt: skip


def _iceberg_sink(lake: Path) -> Sink:
    from streamlake_fast.sinks.iceberg import IcebergSink

    return IcebergSink(ICEBERG_TABLE, catalog=f"sqlite:///{lake.absolute()}/catalog.db", warehouse=str(lake),
                       schema=lake_schema(receipt_schema().to_arrow()), partition_by="event_time")  # fmt: skip


def _aws_env(host: str) -> dict[str, str]:
    endpoint = f"http://{host}"
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_SQS": endpoint, "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def _gcp_path(report: DemoReport, pubsub: bool, invalid_fraction: float, seed: int, say: Any,
              interval: float) -> tuple[Source, Publishing | None]:  # fmt: skip
    if pubsub:
        return pubsub_path(report, "receipts", invalid_fraction, seed, say, interval)
    from streamlake_fast.sources.memory import MemorySource

    say(f"generating {report.events:,} receipts for the in-process source ...")
    report.published = report.events
    return MemorySource(list(receipt_batches(report.events, CHUNK, seed=seed, invalid_fraction=invalid_fraction))), None


def pubsub_path(report: DemoReport, topic_name: str, invalid_fraction: float, seed: int, say: Any, interval: float,
                publisher: Callable[..., None] | None = None) -> tuple[Source, Publishing]:  # fmt: skip
    """A topic and its subscription on the emulator, the publisher process for it and the worker's source."""
    from streamlake_fast.transports.gcp.pull import PubSubSource

    report.mode = "pubsub"
    topic = f"projects/{PROJECT}/topics/{topic_name}"
    create_topic(topic)
    env = {"PUBSUB_EMULATOR_HOST": os.environ["PUBSUB_EMULATOR_HOST"]}
    publishing = Publishing({"topic": topic}, env, report, invalid_fraction, seed, say, interval, publisher=publisher)
    return PubSubSource(topic.replace("/topics/", "/subscriptions/"), max_messages=1000), publishing


def _aws_path(report: DemoReport, name: str, invalid_fraction: float, seed: int, say: Any,
              interval: float) -> tuple[Source, Publishing, str]:  # fmt: skip
    """The queue and the bucket on moto's server; returns the source, the publisher and the lake root."""
    import pyarrow.fs as pafs

    from streamlake_fast.transports.aws.client import SqsClient
    from streamlake_fast.transports.aws.sqs import SqsSource

    pafs.S3FileSystem(endpoint_override=os.environ["AWS_ENDPOINT_URL"], allow_bucket_creation=True).create_dir(BUCKET)
    client = SqsClient()
    url = client.call_json("CreateQueue", {"QueueName": "receipts"})["QueueUrl"]
    report.mode = "sqs"
    env = {k: os.environ[k] for k in _aws_env("")}
    publishing = Publishing({"queue": url}, env, report, invalid_fraction, seed, say, interval, window=20_000)
    return SqsSource(url, client=client, wait_time=2), publishing, f"s3://{BUCKET}/{name}"


def _run(report: DemoReport, source: Source, publishing: Publishing | None, sinks: list[Sink], lake: str,
         table: str | None, interval: float, say: Any, out: TextIO) -> None:  # fmt: skip
    dead_letter = DeadLetterFiles(lake)
    say(f"worker: {source.name} → {', '.join(s.name for s in sinks)}; dead letters → {dead_letter.name}")
    worker = Worker(source, sinks, Codec(receipt_schema()), dead_letter=dead_letter,
                    exit_when_drained=publishing is None, progress_interval=interval, progress=out)  # fmt: skip
    if publishing is not None:
        say(f"publisher: a separate process, publishing while the worker runs (at most {publishing.window:,} "
            "events ahead)")  # fmt: skip
        publishing.start(worker)
    report.stats = worker.run()
    report.cost = worker.cost().line()
    if publishing is not None:
        publishing.finish()
    report.sink_rows = {s.name: s.rows_written for s in sinks}
    report.rejects_written = dead_letter.rows_written
    if table:
        report.table_rows = count_table(table)
    iceberg = next((s for s in sinks if s.name.startswith("iceberg:")), None)
    if iceberg is not None:
        from streamlake_fast.sinks.iceberg.verify import verify_iceberg

        ice = iceberg.catalog.load_table(ICEBERG_TABLE)  # type: ignore[attr-defined]
        report.lake = verify_iceberg(ice)
        report.query, report.query_result = query_table(ice.scan(selected_fields=("store_id", "total")).to_arrow())
    else:
        report.lake = verify_lake(lake)
        report.query, report.query_result = query_lake(lake)


def summary_lines(report: DemoReport) -> list[str]:
    s = report.stats
    assert s is not None and report.lake is not None
    lines = [
        f"source:              {report.mode} ({report.published:,} events published"
        + (f" in {report.envelope} envelopes)" if report.envelope else ")"),
        f"worker:              {s.events:,} events in {s.busy:.1f} s = {s.events / max(s.busy, 1e-9):,.0f}/s",
        f"worker CPU:          {s.cpu / max(s.events, 1) * 1e6:.1f} µs/event ({s.cpu:.1f} CPU s)",
    ]
    for name, rows in report.sink_rows.items():
        lines.append(f"rows → {name}: {rows:,}")
    if report.table_rows is not None:
        lines.append(f"BigQuery COUNT(*):   {report.table_rows:,}")
    lines.append(f"rejects:             {s.rejects:,} (dead-lettered: {report.rejects_written:,})")
    for code, n in sorted(s.reject_codes.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {code:<20} {n:,}")
    lines.append(f"acknowledged:        {s.acked:,}")
    if report.cost:
        lines.append(report.cost)
    lines.append("lake:")
    lines += ["  " + line for line in report.lake.lines()]
    lines.append(f"query ({report.query}):")
    lines += [f"  {row}" for row in report.query_result]
    return lines
