"""``streamlake lake verify --iceberg-table``, ``lake compact`` and ``lake expire`` on a real SQLite catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamlake_fast.cli import main
from streamlake_fast.local.generate import receipt_schema
from tests.sinks.iceberg.helpers import PUBLISHED, iceberg_sink, receipts_of
from tests.sinks.lake.helpers import lake_batch

Capsys = pytest.CaptureFixture[str]


def _table(tmp_path: Path, commits: int, repeat_first: bool = False) -> list[str]:
    """``commits`` commits of 30 receipts (the first batch written twice with ``repeat_first``); the CLI's
    catalog arguments."""
    schema = receipt_schema()
    sink = iceberg_sink(tmp_path, schema, maintenance=None, dedup_ids=0)
    receipts = receipts_of(commits * 30)
    for i in range(commits):
        sink.write(lake_batch(schema, receipts[i * 30 : (i + 1) * 30], i * 30, PUBLISHED))
        sink.flush()
    if repeat_first:
        sink.write(lake_batch(schema, receipts[:2], 0, PUBLISHED))
        sink.flush()
    sink.close()
    return ["--catalog", f"sqlite:///{tmp_path}/catalog.db", "--warehouse", str(tmp_path / "wh")]


def _verify(where: list[str], capsys: Capsys, *more: str) -> tuple[int, dict[str, Any]]:
    code = main(["lake", "verify", "--iceberg-table", "shop.events", *where, "--json", *more])
    return code, json.loads(capsys.readouterr().out)


def test_compact_then_expire_leave_one_file_one_snapshot_and_every_row(tmp_path: Path, capsys: Capsys) -> None:
    where = _table(tmp_path, commits=8)
    code, before = _verify(where, capsys)
    assert code == 0 and (before["rows"], before["files"], before["snapshots"]) == (240, 8, 8)
    assert list(before["partitions"]) == ["publish_time_day=2025-11-24"] and before["duplicate_ids"] == 0
    assert main(["lake", "compact", "shop.events", *where]) == 0
    assert "8 files rewritten into 1 (240 rows" in capsys.readouterr().out
    assert main(["lake", "expire", "shop.events", *where, "--older-than", "0", "--retain-last", "1",
                 "--orphans-older-than", "0"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "8 snapshots expired, 1 kept; " in out and "0 files no snapshot refers to deleted" in out
    code, after = _verify(where, capsys)
    assert (after["rows"], after["files"], after["snapshots"]) == (240, 1, 1)
    parquet = [p for p in (tmp_path / "wh").rglob("*.parquet") if not p.name.startswith(".")]
    assert len(parquet) == 1  # the eight small files are gone from the store too


def test_verify_names_a_repeated_message_id_and_fails_when_asked(tmp_path: Path, capsys: Capsys) -> None:
    where = _table(tmp_path, commits=2, repeat_first=True)
    code, report = _verify(where, capsys, "--fail-on-duplicates")
    assert code == 1 and report["duplicate_ids"] == 2 and report["duplicate_rows"] == 2
    assert sorted(report["duplicate_examples"]) == ["0", "1"]
    assert main(["lake", "verify", "--iceberg-table", "shop.events", *where]) == 0
    assert "duplicate message ids: 2 (2 extra rows)" in capsys.readouterr().out


def test_bad_arguments_are_named(tmp_path: Path, capsys: Capsys) -> None:
    where = _table(tmp_path, commits=1)
    assert main(["lake", "compact", "shop.nope", *where]) == 2
    assert "no Iceberg table 'shop.nope'" in capsys.readouterr().err
    assert main(["lake", "compact", "shop.events", *where, "--min-files", "1"]) == 2
    assert "--min-files must be at least 2" in capsys.readouterr().err
    assert main(["lake", "expire", "shop.events"]) == 2
    assert "needs --catalog" in capsys.readouterr().err
    assert main(["lake", "verify"]) == 2
    assert "needs a lake root" in capsys.readouterr().err
