"""The `streamlake` command line: the demo (main job) and decoding an NDJSON file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from streamlake_fast.cli import main
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts


def test_demo_reports_throughput_and_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.parquet"
    assert main(["codec-demo", "--events", "3000", "--batch-size", "1000", "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert "events:            3,000" in stdout
    assert "rows decoded:      2,970" in stdout
    assert "rejects:           30" in stdout
    assert "µs/event" in stdout
    assert "[demo] " in stderr
    assert pq.read_table(out).num_rows == 2970


def test_decode_file_writes_parquet_and_rejects(tmp_path: Path) -> None:
    pairs = list(receipts(200, invalid_fraction=0.05))
    src = tmp_path / "events.ndjson"
    src.write_bytes(b"\n".join(m for m, _ in pairs) + b"\n")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    out, rejects = tmp_path / "out.parquet", tmp_path / "rejects.ndjson"
    code = main(["decode", str(src), "--schema", str(schema), "--out", str(out), "--rejects", str(rejects)])
    assert code == 1  # some events were rejected
    assert pq.read_table(out).num_rows == 190
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    bad = [i for i, (_, kind) in enumerate(pairs) if kind]
    assert [r["index"] for r in lines] == bad  # 0-based, as in every reject answer (line = index + 1)
    assert {"index", "code", "path", "message"} == set(lines[0])


def test_bad_schema_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('[{"name": "a", "type": "TEXT"}]')
    src = tmp_path / "e.ndjson"
    src.write_text("{}\n")
    assert main(["decode", str(src), "--schema", str(schema)]) == 2
    assert 'streamlake: error: field "a": unknown type "TEXT"' in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamlake_fast.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("streamlake_fast ")


def test_one_name_for_the_retry_deadline_and_the_old_names_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    """``serve --publish-timeout`` and ``push-handler --write-deadline`` were one concept under two names: both are
    ``--retry-deadline`` now; the old names still parse, and say the new one."""
    from streamlake_fast.cli import _parser

    for command, old in (
        (["serve", "--schema", "s.json", "--topic", "projects/p/topics/t"], "--publish-timeout"),
        (["push-handler"], "--write-deadline"),
    ):
        assert _parser().parse_args([*command, "--retry-deadline", "3"]).retry_deadline == 3
        assert _parser().parse_args([*command, old, "4"]).retry_deadline == 4
        assert f"{old} is now --retry-deadline" in capsys.readouterr().err
