"""`streamlake demo` — the README's main command — end to end on a small N, with and without the emulators; and
`streamlake demo --mixed`, four event types routed from one stream."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamlake_fast.cli.demo_mixed import TABLES, UNKNOWN_FRACTION
from streamlake_fast.local import pubsub_emulator_path
from streamlake_fast.local.mixed import MIXED_TYPES, mixed_events
from streamlake_fast.sinks.lake import verify_lake
from tests.servers.processes import BQEMULATOR_PYTHON
from tests.sinks.lake.helpers import read_lake

EVENTS = 5000


def _demo(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamlake_fast.cli", "demo", "--events", str(EVENTS), "--lake", str(tmp_path / "lake"),
         "--progress-interval", "1", *args],
        env=env or dict(os.environ), cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _number(label: str, text: str) -> int:
    m = re.search(rf"{re.escape(label)}\s+([\d,]+)", text)
    assert m, f"{label!r} not in:\n{text}"
    return int(m.group(1).replace(",", ""))


def test_demo_on_the_emulators(tmp_path: Path) -> None:
    if not (pubsub_emulator_path().exists() and BQEMULATOR_PYTHON.exists()):
        if os.environ.get("CI") == "true":
            pytest.fail("the emulators are not installed (make emulators)")
        pytest.skip("emulators not installed")
    done = _demo(tmp_path, env={**os.environ, "STREAMLAKE_BQEMULATOR_PYTHON": str(BQEMULATOR_PYTHON)})
    assert done.returncode == 0, done.stderr[-3000:]
    out, err = done.stdout, done.stderr
    assert "Pub/Sub emulator: started" in err and "BigQuery emulator: started" in err
    assert "[publish] 5,000 events" in err and "[worker]" in err
    valid = EVENTS - EVENTS // 100
    assert "source:              pubsub (5,000 events published)" in out
    assert f"rows → bigquery:streamlake-demo.demo.receipts: {valid:,}" in out
    assert f"rows → lake:{tmp_path / 'lake'}: {valid:,}" in out
    assert _number("BigQuery COUNT(*):", out) == valid
    assert _number("rejects:", out) == EVENTS // 100
    assert _number("acknowledged:", out) == EVENTS
    assert "duplicate message ids: none" in out
    assert "query (duckdb:" in out
    assert read_lake(tmp_path / "lake").num_rows == valid
    assert verify_lake(str(tmp_path / "lake")).rows == valid


def test_demo_without_emulators_runs_in_process_and_replaces_its_own_lake(tmp_path: Path) -> None:
    for _ in range(2):  # the second run replaces the first run's lake
        done = _demo(tmp_path, "--no-emulators")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "source:              in-process" in done.stdout
        assert _number("acknowledged:", done.stdout) == EVENTS
        assert read_lake(tmp_path / "lake").num_rows == EVENTS - EVENTS // 100


def test_demo_lands_in_an_iceberg_table_on_the_emulators(tmp_path: Path) -> None:
    if not (pubsub_emulator_path().exists() and BQEMULATOR_PYTHON.exists()):
        if os.environ.get("CI") == "true":
            pytest.fail("the emulators are not installed (make emulators)")
        pytest.skip("emulators not installed")
    done = _demo(tmp_path, "--lake-format", "iceberg",
                 env={**os.environ, "STREAMLAKE_BQEMULATOR_PYTHON": str(BQEMULATOR_PYTHON)})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out, valid = done.stdout, EVENTS - EVENTS // 100
    assert f"rows → iceberg:demo.receipts: {valid:,}" in out and _number("BigQuery COUNT(*):", out) == valid
    assert _number("acknowledged:", out) == EVENTS and "duplicate message ids: none" in out
    assert "snapshots:" in out and "query (pyiceberg scan" in out
    from streamlake_fast.sinks.iceberg import open_catalog

    table = open_catalog(f"sqlite:///{tmp_path}/lake/catalog.db", warehouse=str(tmp_path / "lake")).load_table(
        "demo.receipts")  # fmt: skip
    assert table.scan().to_arrow().num_rows == valid
    assert _number("total", out.split("lake:")[1]) == len(table.inspect.files())  # the files the report counted


def test_demo_iceberg_is_for_gcp(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--lake-format", "iceberg", "--cloud", "aws")
    assert done.returncode == 2 and "--lake-format iceberg runs on --cloud gcp" in done.stderr


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "precious.txt").write_text("keep me")
    done = _demo(tmp_path, "--no-emulators")
    assert done.returncode == 2
    assert "is not empty and was not made by a previous demo" in done.stderr
    assert (tmp_path / "lake" / "precious.txt").exists()


def test_demo_says_when_the_emulators_are_missing_and_runs_in_process(tmp_path: Path) -> None:
    env = {**os.environ, "STREAMLAKE_PUBSUB_EMULATOR": str(tmp_path / "no-emulator"),
           "STREAMLAKE_BQEMULATOR": str(tmp_path / "no-bqemulator")}  # fmt: skip
    done = _demo(tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Pub/Sub emulator: not available (Pub/Sub emulator not installed at" in done.stderr
    assert "BigQuery emulator: not available" in done.stderr
    assert "source:              in-process" in done.stdout
    assert _number("acknowledged:", done.stdout) == EVENTS


def test_demo_on_aws_runs_sqs_to_an_s3_lake(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--cloud", "aws")
    if "moto's server is not installed" in done.stderr and os.environ.get("CI") != "true":
        pytest.skip("moto[server] not installed")
    assert done.returncode == 0, done.stderr[-3000:]
    out, err = done.stdout, done.stderr
    assert "moto's server (SQS, S3): started" in err and "worker: http://127.0.0.1:" in err
    valid = EVENTS - EVENTS // 100
    assert "source:              sqs (5,000 events published)" in out
    assert f"rows → lake:s3://streamlake-demo/lake: {valid:,}" in out
    assert _number("rejects:", out) == EVENTS // 100
    assert _number("acknowledged:", out) == EVENTS
    assert "duplicate message ids: none" in out
    rows = [line for line in out.splitlines() if line.startswith("  total ")]
    assert rows and f"{valid:,}" in rows[0]  # lake verify read every row back from the bucket
    assert "query (pyarrow.dataset:" in out and "('store-" in out
    assert not (tmp_path / "lake").exists()  # the lake is in the bucket, not on local disk


def test_demo_on_aws_with_envelopes_lands_every_event_in_fewer_messages(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--cloud", "aws", "--envelope", "zstd")
    if "moto's server is not installed" in done.stderr and os.environ.get("CI") != "true":
        pytest.skip("moto[server] not installed")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    valid = EVENTS - EVENTS // 100
    assert "source:              sqs (5,000 events published in zstd envelopes)" in out
    assert f"rows → lake:s3://streamlake-demo/lake: {valid:,}" in out
    assert _number("rejects:", out) == EVENTS // 100  # each bad receipt alone, not its envelope
    assert 0 < _number("acknowledged:", out) < EVENTS // 20  # messages: about 150 receipts each
    assert "duplicate message ids: none" in out
    assert re.search(r"^cost: \$[0-9.]+ per million events \(SQS ", out, re.M), out


def _mixed_want() -> dict[str, tuple[int, int]]:
    """Each type's (events, valid events) in the demo's mixed stream of EVENTS (its default seed and shares)."""
    events = mixed_events(EVENTS, seed=42, invalid_fraction=0.01, unknown_fraction=UNKNOWN_FRACTION)
    return {k: (sum(e.type == k for e in events), sum(e.type == k and e.valid for e in events)) for k in MIXED_TYPES}


def test_mixed_demo_routes_each_type_to_its_table_and_prefix(tmp_path: Path) -> None:
    if not (pubsub_emulator_path().exists() and BQEMULATOR_PYTHON.exists()):
        if os.environ.get("CI") == "true":
            pytest.fail("the emulators are not installed (make emulators)")
        pytest.skip("emulators not installed")
    done = _demo(tmp_path, "--mixed", env={**os.environ, "STREAMLAKE_BQEMULATOR_PYTHON": str(BQEMULATOR_PYTHON)})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "route payment: lake only (bqemulator cannot create a BIGNUMERIC column)" in done.stderr
    for kind, (events, valid) in _mixed_want().items():
        assert f"route {kind}: {events:,} events, {valid:,} rows" in out
        if kind != "payment":
            assert f"table streamlake-demo.demo.{TABLES[kind]}: COUNT(*) {valid:,}" in out
        assert f"lake {tmp_path / 'lake' / kind}: {valid:,} rows" in out
        assert verify_lake(str(tmp_path / "lake" / kind)).rows == valid
    unknown = EVENTS - sum(events for events, _ in _mixed_want().values())
    assert _number("no_route", out) == unknown > 0
    assert _number("acknowledged:", out) == EVENTS
    assert "destinations opened: 4" in out and "duplicate message ids: none" in out


def test_mixed_demo_without_emulators_routes_in_process(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--mixed", "--no-emulators")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "source:              in-process" in done.stdout
    for kind, (_, valid) in _mixed_want().items():
        assert read_lake(tmp_path / "lake" / kind).num_rows == valid
    assert _number("acknowledged:", done.stdout) == EVENTS


def test_mixed_demo_is_for_gcp(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--mixed", "--cloud", "aws")
    assert done.returncode == 2 and "--mixed runs on --cloud gcp" in done.stderr
