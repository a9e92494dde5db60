"""Each extra alone, from the built wheel, in a fresh virtualenv outside the tree (`make wheel-smoke`).

Run by the project's own Python (it starts the Pub/Sub emulator and moto's server, makes topics and queues, and
reads the results); each extra's virtualenv gets the wheel with that extra only, its versions held to the locks
(``uv pip install -c LOCK``: the wheel's metadata decides what is installed, so a dependency it forgets shows up
as a failure here), and runs the paths that extra is for:

- bare: the codec, the CLI; a worker or the Lambda handler asked for names the extra to install;
- ``aws``: the Lambda handler into a local lake with dead letters as files; the SQS worker draining a queue;
- ``gcp``: ``streamlake publish`` and ``streamlake run`` on a Pub/Sub subscription into a lake;
- ``http,gcp`` and ``http,aws``: ``streamlake serve`` publishing to a topic / a queue;
- ``beam``: the transforms on the DirectRunner;
- ``iceberg``: a worker into an Iceberg table of a SQLite catalog, read back.

Usage: ``python .ci/extras_smoke.py DIST [EXTRA ...]`` with ``UV`` and ``PYTHON`` set (the Makefile does); with
extras named (``bare``, ``aws``, ``http,gcp``, ...), only those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pyarrow.dataset as ds
from google.cloud import pubsub_v1

from streamlake_fast.local import LocalServer, free_port, start_moto, start_pubsub

ROOT = Path(__file__).resolve().parents[1]
UV, PYTHON = os.environ["UV"], os.environ.get("PYTHON", "python3")
SCHEMA = [{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}]
EVENTS = [json.dumps({"id": f"e{i}", "n": i}).encode() for i in range(20)] + [b'{"id": 5}']  # the last is invalid
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1"}  # fmt: skip


def venv(dist: Path, extra: str) -> Path:
    """A fresh virtualenv with the wheel and ``extra``, at the locks' versions."""
    wheel = next(dist.glob("streamlake_fast-*manylinux*.whl"))
    path = dist / f"venv-{extra.replace(',', '-') or 'bare'}"
    lock = ROOT / "requirements" / ("beam.txt" if extra == "beam" else "dev.txt")
    subprocess.run([UV, "venv", "-q", "--clear", "--python", PYTHON, str(path)], check=True)
    spec = f"{wheel}[{extra}]" if extra else str(wheel)
    subprocess.run([UV, "pip", "install", "-q", "--python", str(path / "bin/python"), "-c", str(lock), spec],
                   check=True)  # fmt: skip
    return path


def run(env: Path, code: str, extra_env: dict[str, str] | None = None, check: bool = True) -> Any:
    """``code`` in the virtualenv's Python, from a directory outside the tree."""
    done = subprocess.run([str(env / "bin/python"), "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=tempfile.gettempdir(), env={**os.environ, **(extra_env or {})}, timeout=300)  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"{env.name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def cli(env: Path, *args: str, extra_env: dict[str, str] | None = None) -> Any:
    return subprocess.run([str(env / "bin/streamlake"), *args], capture_output=True, text=True, timeout=300,
                          cwd=tempfile.gettempdir(), env={**os.environ, **(extra_env or {})})  # fmt: skip


def lake_ids(root: Path) -> list[str]:
    table = ds.dataset(root, format="parquet", partitioning="hive", exclude_invalid_files=True,
                       ignore_prefixes=["_", "."]).to_table(columns=["id"])  # fmt: skip
    return sorted(table.column("id").to_pylist())


WANT = sorted(f"e{i}" for i in range(20))


def check_bare(env: Path, work: Path) -> None:
    run(
        env,
        """
        import json, streamlake_fast
        from streamlake_fast import Codec, Schema
        schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}])
        result = Codec(schema).decode([b'{"id": "a"}', b'{"id": 2}'])
        assert result.batch.num_rows == 1 and [r.code for r in result.rejects] == ["type_mismatch"], result
        assert "site-packages" in streamlake_fast.__file__, streamlake_fast.__file__
    """,
    )
    schema = work / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    data = work / "events.ndjson"
    data.write_bytes(b"\n".join(EVENTS) + b"\n")
    decoded = cli(env, "decode", "--schema", str(schema), str(data))
    assert "21 events: 20 rows, 1 rejects" in decoded.stdout, (decoded.stdout, decoded.stderr)  # exit 1: a reject
    for needs, code in [("gcp", "import streamlake_fast; streamlake_fast.PubSubSource"),
                        ("beam", "from streamlake_fast.beam import DecodeEvents"),
                        ("gcp", "from streamlake_fast.push import asgi_app; asgi_app(table='p.d.t')"),
                        ("aws", "from streamlake_fast.aws import SqsClient; SqsClient()")]:  # fmt: skip
        done = run(env, code, check=False)
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        assert done.returncode != 0 and f"streamlake_fast[{needs}]" in last, (needs, done.stderr)
    # the Lambda handler into a local lake needs no extra at all
    run(
        env,
        f"""
        from streamlake_fast.aws import sqs_handler
        handler = sqs_handler(schema={SCHEMA!r}, lake={str(work / "bare-lake")!r})
        answer = handler({{"Records": [{{"messageId": "a", "body": '{{"id": "x"}}'}}]}}, None)
        assert answer == {{"batchItemFailures": []}}, answer
    """,
    )
    queue = cli(env, "run", "--queue", "http://127.0.0.1:1/123456789012/q", "--schema", str(schema), "--lake", "x")
    assert queue.returncode == 2 and "streamlake_fast[aws]" in queue.stderr, queue.stderr
    worker = cli(env, "run", "--subscription", "projects/p/subscriptions/s", "--schema", str(schema), "--lake", "x")
    assert worker.returncode == 2 and "streamlake_fast[gcp]" in worker.stderr, worker.stderr
    assert len(worker.stderr.strip().splitlines()) == 1, worker.stderr


def check_aws(env: Path, work: Path, moto: LocalServer) -> None:
    lake = work / "lambda-lake"
    records = [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": e.decode(), "attributes": {},
                "messageAttributes": {}, "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}
               for i, e in enumerate(EVENTS)]  # fmt: skip
    run(
        env,
        f"""
        import json
        from streamlake_fast.aws import sqs_handler
        handler = sqs_handler(schema={SCHEMA!r}, lake={str(lake)!r})
        answer = handler({{"Records": json.loads({json.dumps(records)!r})}}, None)
        assert answer == {{"batchItemFailures": []}}, answer
    """,
    )
    assert lake_ids(lake) == WANT
    assert any((lake / "_rejects").rglob("*")), "the invalid event's dead letter"
    aws = {**AWS_ENV, "AWS_ENDPOINT_URL": f"http://{moto.host}"}
    sqs = boto3.client("sqs", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
    url = sqs.create_queue(QueueName=f"smoke-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for i in range(0, len(EVENTS), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": e.decode()}
                                                      for j, e in enumerate(EVENTS[i : i + 10])])  # fmt: skip
    schema = work / "schema.json"
    worker_lake = work / "sqs-lake"
    done = cli(env, "run", "--queue", url, "--schema", str(schema), "--lake", str(worker_lake), "--exit-when-drained",
               "--wait-time", "1", extra_env=aws)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert lake_ids(worker_lake) == WANT


def check_gcp(env: Path, work: Path, pubsub: LocalServer) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, sub = f"projects/smoke-p/topics/t-{suffix}", f"projects/smoke-p/subscriptions/s-{suffix}"
    pubsub_v1.PublisherClient().create_topic(name=topic)
    pubsub_v1.SubscriberClient().create_subscription(name=sub, topic=topic)
    gcp = {"PUBSUB_EMULATOR_HOST": pubsub.host}
    schema, data, lake = work / "schema.json", work / "events.ndjson", work / "pubsub-lake"
    published = cli(env, "publish", "--topic", topic, "--schema", str(schema), str(data), extra_env=gcp)
    assert published.returncode == 1 and "refused 1" in published.stdout, (published.stdout, published.stderr)
    done = cli(env, "run", "--subscription", sub, "--schema", str(schema), "--lake", str(lake), "--exit-when-drained",
               extra_env=gcp)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert lake_ids(lake) == WANT


def serve_and_post(env: Path, args: list[str], extra_env: dict[str, str]) -> dict[str, Any]:
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's stderr, read if a request fails
    server = subprocess.Popen([str(env / "bin/streamlake"), "serve", *args, "--port", str(port)], stderr=log,
                              env={**os.environ, **extra_env}, cwd=tempfile.gettempdir())  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        body = b"\n".join(EVENTS[:20]) + b"\n"
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/events", data=body,
                                         headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return dict(json.load(answer))
        except OSError as e:
            log.seek(0)
            raise AssertionError(f"serve {args}: {e}\n{log.read().decode(errors='replace')}") from e
    finally:
        server.terminate()
        server.wait(30)


def check_http(env: Path, work: Path, transport: str, pubsub: LocalServer, moto: LocalServer) -> None:
    schema = str(work / "schema.json")
    if transport == "gcp":
        suffix = uuid.uuid4().hex[:8]
        topic, sub = f"projects/smoke-p/topics/h-{suffix}", f"projects/smoke-p/subscriptions/h-{suffix}"
        pubsub_v1.PublisherClient().create_topic(name=topic)
        pubsub_v1.SubscriberClient().create_subscription(name=sub, topic=topic)
        answer = serve_and_post(env, ["--topic", topic, "--schema", schema], {"PUBSUB_EMULATOR_HOST": pubsub.host})
        pulled = pubsub_v1.SubscriberClient().pull(subscription=sub, max_messages=100, timeout=30)
        assert len(pulled.received_messages) == 20, (answer, len(pulled.received_messages))
    else:
        aws = {**AWS_ENV, "AWS_ENDPOINT_URL": f"http://{moto.host}"}
        sqs = boto3.client("sqs", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
        url = sqs.create_queue(QueueName=f"serve-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        answer = serve_and_post(env, ["--queue", url, "--schema", schema], aws)
        count = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert int(count["Attributes"]["ApproximateNumberOfMessages"]) == 20, (answer, count)


def check_beam(env: Path) -> None:
    run(
        env,
        """
        import apache_beam as beam
        from apache_beam.testing.util import assert_that, equal_to
        from streamlake_fast import Schema
        from streamlake_fast.beam import DecodeEvents
        schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}])
        with beam.Pipeline(runner="DirectRunner") as p:
            out = p | beam.Create([b'{"id": "a"}', b'{"id": 2}']) | DecodeEvents(schema)
            assert_that(out.valid | beam.Map(lambda b: b.num_rows) | beam.CombineGlobally(sum), equal_to([1]))
    """,
    )


def check_iceberg(env: Path, work: Path) -> None:
    """The iceberg extra alone: a worker from an in-process source into a table of a SQLite catalog, read back."""
    run(
        env,
        f"""
        from streamlake_fast.destinations import Destinations, IcebergConfig
        from streamlake_fast.destinations.build import build
        from streamlake_fast.sources.memory import MemorySource
        from streamlake_fast.worker import Worker
        ice = IcebergConfig(table="smoke.events", catalog="sqlite:///{work}/catalog.db", warehouse="{work}/wh")
        built = build(Destinations(schema="{work}/schema.json", iceberg=ice, dead_letter_dir="{work}/dead"))
        source = MemorySource([{EVENTS!r}])
        stats = Worker(source, built.sinks, built.codec, dead_letter=built.dead_letter, exit_when_drained=True,
                       progress_interval=60).run()
        table = built.sinks[0].catalog.load_table("smoke.events")
        assert table.scan().to_arrow().num_rows == 20 and stats.rejects == 1 and source.acked == 21, stats
    """,
    )


def main(dist: Path, only: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="extras-smoke-"))
    (work / "schema.json").write_text(json.dumps(SCHEMA))
    (work / "events.ndjson").write_bytes(b"\n".join(EVENTS) + b"\n")
    pubsub, moto = start_pubsub(), start_moto()
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    try:
        for extra, check in [
            ("", lambda env: check_bare(env, work)),
            ("aws", lambda env: check_aws(env, work, moto)),
            ("gcp", lambda env: check_gcp(env, work, pubsub)),
            ("http,gcp", lambda env: check_http(env, work, "gcp", pubsub, moto)),
            ("http,aws", lambda env: check_http(env, work, "aws", pubsub, moto)),
            ("beam", check_beam),
            ("iceberg", lambda env: check_iceberg(env, work)),
        ]:
            if only and (extra or "bare") not in only:
                continue
            started = time.monotonic()
            env = venv(dist, extra)
            check(env)
            print(f"extras smoke: [{extra or 'bare wheel'}] ok ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        pubsub.stop()
        moto.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), sys.argv[2:])  # DIST [EXTRA ...]: the named ones only ("bare", "http,gcp")
