"""Apache Beam, batch mode on the DirectRunner, from memory into bqemulator: CPU per event of our transforms
(``DecodeEvents`` → ``WriteToBigQueryArrow``) against the pipeline a Beam Python user writes today
(``Map(json.loads)`` → dict rows → ``WriteToBigQuery(method=STREAMING_INSERTS)``), on the same clean receipts.

The runner's own cost — handing out the messages and moving them through one ``Map`` — is measured by a third
pipeline and reported separately; "transforms" is each pipeline's CPU minus that. CPU is this process's
(``time.process_time``, all threads: the DirectRunner runs batch pipelines in-process); bqemulator's is excluded.
Run: ``make bench-beam`` (100,000 receipts); CI runs it on a small set as a smoke test.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SUMMARY, Row

from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.transports.gcp.channels import bigquery_client
from tests.servers.beam import require_beam
from tests.servers.google_auth import token_server
from tests.servers.processes import Server, ServerUnavailable, start_bigquery

beam = require_beam()

EVENTS = int(os.environ.get("STREAMLAKE_BEAM_BENCH_EVENTS", "100000"))
PROJECT = "bench-project"


#: The receipts, held by this module: the pipelines read them by reference in chunks (``beam.Create`` of the list
#: itself would pickle and compress all of it into the pipeline, several times, a cost of Create, not of the
#: transforms). The DirectRunner runs batch pipelines in this process.
MESSAGES: list[bytes] = []
CHUNK = 1000


def _chunk(i: int) -> list[bytes]:
    return MESSAGES[i * CHUNK : (i + 1) * CHUNK]


def _source(p: Any) -> Any:
    return p | beam.Create(range(-(-len(MESSAGES) // CHUNK))) | beam.FlatMap(_chunk)


@pytest.fixture(scope="module")
def messages() -> list[bytes]:
    MESSAGES[:] = [m for m, _ in receipts(EVENTS, seed=5, invalid_fraction=0.0)]
    _run(lambda p: p | beam.Create(MESSAGES[:100], reshuffle=False) | beam.Map(len))  # imports, first-run costs
    return MESSAGES


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Server]:
    try:
        server = start_bigquery(PROJECT)  # a fresh one per run: bqemulator copies the table on every write
    except ServerUnavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    # Beam's streaming inserts build their own google-cloud-bigquery client (and an apitools one) with the default
    # credentials: a service-account key whose token endpoint is local (tests/servers/google_auth.py), found through
    # GOOGLE_APPLICATION_CREDENTIALS; the client reaches bqemulator through BIGQUERY_EMULATOR_HOST, which
    # google-cloud-bigquery reads as its endpoint (so it carries the scheme).
    with token_server(tmp_path, PROJECT) as tokens:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tokens.key_file))
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"http://{server.host}")
        monkeypatch.setenv("BIGQUERY_STORAGE_EMULATOR_HOST", server.extra_host)
        yield server
    server.stop()


def _table() -> str:
    from google.cloud import bigquery as bq

    client = bigquery_client(PROJECT)
    dataset = f"beam_{uuid.uuid4().hex[:8]}"
    client.create_dataset(dataset)
    table = f"{PROJECT}.{dataset}.receipts"
    client.create_table(bq.Table(table, schema=[bq.SchemaField.from_api_repr(f) for f in RECEIPT_SCHEMA]))
    return table


def _count(table: str) -> int:
    return int(next(iter(bigquery_client(PROJECT).query(f"SELECT COUNT(*) AS n FROM `{table}`").result())).n)


def _run(build: Callable[[Any], None]) -> tuple[float, float]:
    from apache_beam.options.pipeline_options import PipelineOptions

    cpu0, wall0 = time.process_time(), time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(runner="DirectRunner")) as p:
        build(p)
    return time.process_time() - cpu0, time.perf_counter() - wall0


def _record(name: str, cpu: float, wall: float, rows: int) -> None:
    SUMMARY.beam.append(Row("beam", name, (cpu, wall), rows, f"{EVENTS / wall:,.0f} events/s wall"))


def test_runner_overhead(benchmark: Any, messages: list[bytes]) -> None:
    def build(p: Any) -> None:
        _ = _source(p) | beam.Map(len)

    cpu, wall = benchmark.pedantic(lambda: _run(build), rounds=1, iterations=1)
    _record("runner only (the messages → Map(len))", cpu, wall, 0)


def test_streamlake_decode_and_storage_write(benchmark: Any, messages: list[bytes], bigquery: Server) -> None:
    from streamlake_fast.beam import DecodeEvents, WriteToBigQueryArrow

    table = _table()

    def build(p: Any) -> None:
        decoded = _source(p) | DecodeEvents(RECEIPT_SCHEMA)
        _ = decoded.valid | WriteToBigQueryArrow(table)

    cpu, wall = benchmark.pedantic(lambda: _run(build), rounds=1, iterations=1)
    assert _count(table) == EVENTS
    _record("streamlake_fast: DecodeEvents → WriteToBigQueryArrow", cpu, wall, EVENTS)


def test_baseline_json_loads_and_streaming_inserts(benchmark: Any, messages: list[bytes], bigquery: Server) -> None:
    from apache_beam.io.gcp.bigquery import BigQueryDisposition, WriteToBigQuery

    table = _table()

    def build(p: Any) -> None:
        rows = _source(p) | beam.Map(json.loads)
        _ = rows | WriteToBigQuery(table.replace(".", ":", 1), method=WriteToBigQuery.Method.STREAMING_INSERTS,
                                   create_disposition=BigQueryDisposition.CREATE_NEVER)  # fmt: skip

    cpu, wall = benchmark.pedantic(lambda: _run(build), rounds=1, iterations=1)
    assert _count(table) == EVENTS
    _record("baseline (Map(json.loads) → WriteToBigQuery STREAMING_INSERTS)", cpu, wall, EVENTS)
