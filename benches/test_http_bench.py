"""The HTTP services' server CPU per event, each a real server process driven over loopback by a load generator in
its own process (``http_load.py``), beside the service a Python user writes today:

- ``streamlake serve`` against FastAPI + the receipt's pydantic model + ``PublisherClient`` under uvicorn, both
  publishing to the Pub/Sub emulator: (a) one event per request, (b) 500 events per NDJSON request;
- ``streamlake push-handler`` against a Functions Framework function doing ``json.loads`` → ``insert_rows_json``,
  both fed by a push subscription on the Pub/Sub emulator, writing to bqemulator.

The CPU measured is the server's process tree (``/proc``: user + system), from the first request to the last
answer. Run: ``make bench-http``; CI runs it with a few requests as a smoke test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SUMMARY, Row, server_or_skip

from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.servers.processes import Server, free_port, start_bigquery, start_pubsub

SINGLE = int(os.environ.get("STREAMLAKE_HTTP_BENCH_SINGLE", "20000"))  # one-event requests
BATCHED = int(os.environ.get("STREAMLAKE_HTTP_BENCH_BATCHED", "100000"))  # events in 500-event NDJSON requests
PUSHED = int(os.environ.get("STREAMLAKE_HTTP_BENCH_PUSHED", "1000"))  # push deliveries
CONNECTIONS = 64
PROJECT = "bench-project"
HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


_server = server_or_skip


@pytest.fixture(scope="module")
def pubsub() -> Iterator[Server]:
    server = _server(start_pubsub)
    yield server
    server.stop()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its descendants, from ``/proc``."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += (int(stats[p][11]) + int(stats[p][12])) / TICK
        todo += children.get(p, [])
    return total


class Process:
    """A server process on a free port, waited for (``GET /healthz`` answering at all), stopped with SIGTERM."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [c.replace("{port}", str(self.port)) for c in command]
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-server-{self.port}.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=self.log, text=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"{command[0]} exited: {self.log.read()}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=2)
                return
            except httpx.HTTPError:
                assert time.monotonic() < deadline, f"{command} did not start"
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _load(
    url: str, headers: dict[str, str], bodies: list[bytes], tmp: Path, path: str = "/v1/events"
) -> dict[str, Any]:
    spec = tmp / f"load-{len(bodies)}-{time.monotonic_ns()}.json"
    spec.write_text(json.dumps({"headers": headers, "bodies": [b.decode("latin-1") for b in bodies]}),
                    encoding="latin-1")  # fmt: skip
    done = subprocess.run([sys.executable, str(HERE / "http_load.py"), f"{url}{path}", str(spec),
                           str(CONNECTIONS)], capture_output=True, text=True, check=True)  # fmt: skip
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _events(n: int, seed: int) -> list[bytes]:
    return [d for d, _ in receipts(n, seed=seed)]


def _serve_services(pubsub: Server, tmp: Path) -> Iterator[tuple[str, Process]]:
    from google.cloud import pubsub_v1

    schema = tmp / "receipts.json"
    schema.write_text(json.dumps([*RECEIPT_SCHEMA, {"name": "ingest_time", "type": "TIMESTAMP"}]))
    env = {"PUBSUB_EMULATOR_HOST": pubsub.host}
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    publisher = pubsub_v1.PublisherClient()
    for name in ("streamlake serve", "FastAPI + pydantic + PublisherClient (uvicorn)"):
        topic = f"projects/{PROJECT}/topics/http-{time.monotonic_ns()}"
        publisher.create_topic(name=topic)
        if name.startswith("streamlake"):
            command = [sys.executable, "-m", "streamlake_fast.cli", "serve", "--topic", topic, "--schema",
                       str(schema), "--port", "{port}"]  # fmt: skip
        else:
            command = [sys.executable, "-m", "uvicorn", "fastapi_service:app", "--port", "{port}", "--no-access-log",
                       "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]  # fmt: skip
        process = Process(command, {**env, "TOPIC": topic}, cwd=HERE)
        try:
            yield name, process
        finally:
            process.stop()


@pytest.mark.parametrize("shape", ["single", "batched"])
def test_serve_cpu_per_event(benchmark: Any, pubsub: Server, shape: str, tmp_path: Path) -> None:
    if shape == "single":
        events = _events(SINGLE, 21)
        bodies, headers = events, {"content-type": "application/json"}
    else:
        events = _events(BATCHED, 22)
        bodies = [b"\n".join(events[i : i + 500]) for i in range(0, len(events), 500)]
        headers = {"content-type": "application/x-ndjson"}
    results: dict[str, tuple[float, float]] = {}

    def run() -> None:
        for name, process in _serve_services(pubsub, tmp_path):
            _load(process.url, headers, bodies[: max(1, len(bodies) // 20)], tmp_path)  # warm up
            cpu0 = tree_cpu(process.proc.pid)
            out = _load(process.url, headers, bodies, tmp_path)
            cpu = tree_cpu(process.proc.pid) - cpu0
            assert out["statuses"] == {"200": len(bodies)}, (name, out)
            assert out["accepted"] == len(events), (name, out)
            results[name] = (cpu, out["seconds"])

    benchmark.pedantic(run, rounds=1, iterations=1)
    base = results["FastAPI + pydantic + PublisherClient (uvicorn)"]
    for name, (cpu, wall) in results.items():
        per = "1 event/request" if shape == "single" else "500 events/NDJSON request"
        # A smoke run's few requests can take less CPU than the clock tick tree_cpu reads: no ratio then.
        ratio = f", {base[0] / cpu:.1f}x less server CPU" if name.startswith("streamlake") and cpu > 0 else ""
        label = name if name.startswith("streamlake") else f"baseline: {name}"
        SUMMARY.http.append(Row(per, label, (cpu, wall), len(events), f"{len(events) / wall:,.0f} events/s{ratio}"))
    serve_cpu = results["streamlake serve"][0]
    benchmark.extra_info["ratio"] = base[0] / serve_cpu if serve_cpu > 0 else None


@pytest.mark.parametrize("feeder", ["emulator", "load generator"])
def test_push_cpu_per_event(benchmark: Any, pubsub: Server, feeder: str, tmp_path: Path) -> None:
    from streamlake_fast.transports.gcp.channels import bigquery_client

    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    framework = shutil.which("functions-framework", path=str(Path(sys.executable).parent))
    assert framework is not None, "functions-framework is not installed (the bench extra)"
    events = _events(PUSHED, 23)
    results: dict[str, tuple[float, float]] = {}

    def run() -> None:
        for name in ("streamlake push-handler", "Functions Framework: json.loads → insert_rows_json"):
            bigquery = _server(start_bigquery, PROJECT)
            env = {"PUBSUB_EMULATOR_HOST": pubsub.host, "BIGQUERY_EMULATOR_HOST": bigquery.host,
                   "BIGQUERY_STORAGE_EMULATOR_HOST": bigquery.extra_host}  # fmt: skip
            os.environ.update(env)
            client = bigquery_client(PROJECT)
            client.create_dataset("bench", exists_ok=True)
            from google.cloud import bigquery as bq

            table = f"{PROJECT}.bench.receipts"
            client.create_table(bq.Table(table, schema=[bq.SchemaField.from_api_repr(f) for f in RECEIPT_SCHEMA]))
            if name.startswith("streamlake"):
                command = [sys.executable, "-m", "streamlake_fast.cli", "push-handler", "--table", table, "--port",
                           "{port}"]  # fmt: skip
            else:
                command = [framework, "--source", "ff_function.py", "--target", "ingest", "--port", "{port}"]
            process = Process(command, {**env, "TABLE": table}, cwd=HERE)
            try:
                cpu0, start = tree_cpu(process.proc.pid), time.perf_counter()
                if feeder == "emulator":
                    _push_through_emulator(process.url, events)
                else:
                    out = _load(process.url, {"content-type": "application/json"}, _envelopes(events), tmp_path, "/")
                    assert out["statuses"] == {"204": len(events)}, (name, out)
                deadline = time.monotonic() + 600
                while _count(client, table) < len(events):
                    assert time.monotonic() < deadline, f"{name}: timed out"
                    time.sleep(0.5)
                wall = time.perf_counter() - start
                results[name] = (tree_cpu(process.proc.pid) - cpu0, wall)
                assert _count(client, table) == len(events)
            finally:
                process.stop()
                bigquery.stop()

    benchmark.pedantic(run, rounds=1, iterations=1)
    base = results["Functions Framework: json.loads → insert_rows_json"]
    for name, (cpu, wall) in results.items():
        ratio = f", {base[0] / cpu:.1f}x less server CPU" if name.startswith("streamlake") and cpu > 0 else ""
        label = name if name.startswith("streamlake") else f"baseline: {name}"
        requests = (
            "push, the emulator delivering" if feeder == "emulator" else f"push, posted on {CONNECTIONS} connections"
        )
        SUMMARY.http.append(Row(requests, label, (cpu, wall), len(events),
                                f"{len(events) / wall:,.0f} events/s{ratio}"))  # fmt: skip


def _push_through_emulator(url: str, events: list[bytes]) -> None:
    """A push subscription pointing at ``url`` (the emulator POSTs each message, at most 2 at a time), then the
    events published."""
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    topic = f"projects/{PROJECT}/topics/push-{time.monotonic_ns()}"
    publisher.create_topic(name=topic)
    pubsub_v1.SubscriberClient().create_subscription(
        name=topic.replace("/topics/", "/subscriptions/"), topic=topic, ack_deadline_seconds=60,
        push_config={"push_endpoint": f"{url}/"},
    )  # fmt: skip
    for f in [publisher.publish(topic, e) for e in events]:
        f.result(60)


def _envelopes(events: list[bytes]) -> list[bytes]:
    """Push deliveries as Pub/Sub POSTs them (the wrapped envelope)."""
    import base64

    return [json.dumps({"message": {"data": base64.b64encode(e).decode(), "messageId": str(i),
                                    "publishTime": "2026-11-26T10:00:00.123Z"},
                        "subscription": f"projects/{PROJECT}/subscriptions/bench"}).encode()
            for i, e in enumerate(events)]  # fmt: skip


def _count(client: Any, table: str) -> int:
    return int(next(iter(client.query(f"SELECT COUNT(*) AS n FROM `{table}`").result()))["n"])
