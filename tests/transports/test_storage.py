"""Whole-file visibility on local disk: hidden spool, rename, new directories durable; nothing half-written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from streamlake_fast.exceptions import ConfigError, TransientSinkError
from streamlake_fast.transports.storage import Root, is_permanent, make_dirs, sink_error


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


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), True),
        (OSError(errno.EROFS, "Read-only file system"), True),
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), True),
        (OSError(errno.ENOSPC, "No space left on device"), False),  # space can be freed: retried
        (OSError("AWS Error NO_SUCH_BUCKET during CreateMultipartUpload operation"), True),
        (OSError("AWS Error ACCESS_DENIED during PutObject operation"), True),
        (OSError("google::cloud::Status(PERMISSION_DENIED: caller does not have storage.objects.create)"), True),
        (OSError("AWS Error NETWORK_CONNECTION during CreateMultipartUpload operation: curlCode: 7"), False),
    ],
)
def test_storage_errors_are_classified(error: OSError, permanent: bool) -> None:
    assert is_permanent(error) is permanent
    assert isinstance(sink_error(error, "lake:x"), TransientSinkError) is not permanent


def test_a_local_publish_into_a_missing_directory_is_permanent(tmp_path: Path) -> None:
    root = Root(str(tmp_path / "lake"))
    spool = tmp_path / "spool"
    spool.write_bytes(b"x")
    with pytest.raises(OSError) as raised:
        root.publish(spool, f"{tmp_path}/no/such/dir/file")
    assert is_permanent(raised.value)
