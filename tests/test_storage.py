"""Whole-file visibility on local disk: hidden spool, rename, new directories durable; nothing half-written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.storage import Root, make_dirs


def test_write_whole_creates_directories_and_leaves_no_temporary(tmp_path: Path) -> None:
    root = Root(str(tmp_path / "lake"))
    final = f"{root.path}/a/b/file.ndjson"
    assert root.write_whole(final, b"x\n", tmp_path) == 2
    assert Path(final).read_bytes() == b"x\n"
    assert [p.name for p in Path(root.path, "a", "b").iterdir()] == ["file.ndjson"]


def test_spool_is_hidden_until_published(tmp_path: Path) -> None:
    root = Root(str(tmp_path))
    spool = root.spool_path(f"{root.path}/dt=2026-01-01", "part.parquet", tmp_path / "unused")
    assert spool.name == ".part.parquet.tmp" and spool.parent.is_dir()
    spool.write_bytes(b"data")
    root.publish(spool, f"{root.path}/dt=2026-01-01/part.parquet")
    assert not spool.exists()
    assert (tmp_path / "dt=2026-01-01" / "part.parquet").read_bytes() == b"data"


def test_make_dirs_is_idempotent(tmp_path: Path) -> None:
    make_dirs(tmp_path / "x" / "y" / "z")
    make_dirs(tmp_path / "x" / "y" / "z")
    assert os.path.isdir(tmp_path / "x" / "y" / "z")


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="lake root must be a path"):
        Root("ftp://host/x", "lake root")
