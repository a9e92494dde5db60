"""Every error the CLI shows a user is one line naming the problem, and exit status 2 (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SUB = "projects/proj/subscriptions/events"


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    return subprocess.run([sys.executable, "-m", "streamlake_fast.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env={**clean, **(env or {})})  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--subscription", SUB, "--table", "bad"], "table must look like PROJECT.DATASET.TABLE, got 'bad'"),
        (["run", "--subscription", "nope", "--table", "p.d.t"], "subscription must look like"),
        (["run", "--subscription", SUB, "--lake", "lake", "--schema", "missing.json"],
         "schema file not found: missing.json"),
        (["run", "--subscription", SUB, "--table", "p.d.t", "--dead-letter-topic", "dlq"],
         "topic must look like projects/PROJECT/topics/NAME, got 'dlq'"),
        (["run", "--config", "bad.toml"], "bad.toml: Object contains unknown field `subscripton`"),
        (["run", "--config", "absent.toml"], "cannot read config absent.toml"),
        (["run", "--subscription", SUB, "--lake", "ftp://x/y", "--schema", "schema.json"], "lake root must be"),
        (["run", "--subscription", SUB, "--table", "p.d.t", "--concurrent-pulls", "0", "--exit-when-drained"],
         "invalid setting: Expected `int` >= 1 - at `$.pubsub.concurrent_pulls`"),
        (["run", "--subscription", SUB, "--table", "p.d.t", "--ack-deadline", "5"],
         "Expected `int` >= 10 - at `$.pubsub.ack_deadline`"),
        (["run", "--subscription", SUB, "--table", "p.d.t", "--max-rows", "-1"], "at `$.batch.max_rows`"),
        (["run", "--subscription", SUB, "--table", "p.d.t", "--shutdown-timeout", "0"], "at `$.shutdown_timeout`"),
        (["run", "--subscription", SUB, "--table", "p.d.t", "--relax-required"],
         'relax_required needs schema_update.mode = "add_columns"'),
        (["run", "--subscription", SUB, "--lake", "lake", "--schema", "schema.json", "--schema-update", "add_columns"],
         "schema_update add_columns needs a BigQuery table"),
        (["serve", "--topic", "projects/proj/topics/events", "--schema", "missing.json"], "missing.json"),
        (["serve", "--topic", "projects/proj/topics/events", "--schema", "schema.json", "--max-events", "1001"],
         "--max-events must be 1 to 1,000"),
        (["push-handler"], "no sink: pass --table"),
        (["push-handler", "--lake", "lake"], "without a table the schema must be given"),
    ],
)  # fmt: skip
def test_one_line_and_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "bad.toml").write_text('subscripton = "projects/p/subscriptions/s"\n')
    (tmp_path / "schema.json").write_text('[{"name": "a", "type": "STRING"}]')
    done = _run(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("streamlake: error: ") and expected in lines[0], lines[0]


def test_a_mix_of_emulators_and_google_is_refused(tmp_path: Path) -> None:
    """Only the Storage Write emulator set: real events would go in plaintext to that host. Refused at start."""
    env = {"BIGQUERY_STORAGE_EMULATOR_HOST": "127.0.0.1:1", "PUBSUB_EMULATOR_HOST": "127.0.0.1:2"}
    done = _run("run", "--subscription", SUB, "--table", "p.d.t", cwd=tmp_path, env=env)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "BIGQUERY_EMULATOR_HOST" in line and "set all or none" in line, line
