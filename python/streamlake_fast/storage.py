"""Where files go — a local path, ``gs://`` or ``s3://`` — and how a file becomes visible: whole, or not at all.

Local disk: the file is written under a hidden temporary name beside its final one, fsynced, renamed, and the
directory fsynced (and a new directory's parent, so the directory entry itself survives a crash). Object stores:
one upload stream; GCS and S3 show an object only once its upload completes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from streamlake_fast.exceptions import ConfigError

__all__ = ["Root", "check_uri", "fsync_path", "make_dirs", "spool_dir"]

_REMOTE = ("gs", "gcs", "s3")


def check_uri(uri: str, what: str = "storage root") -> bool:
    """Whether ``uri`` is local; raises :class:`ConfigError` when it is neither a path nor gs:// / s3://."""
    scheme = urlparse(uri).scheme
    if scheme not in ("", "file", *_REMOTE):
        raise ConfigError(f"{what} must be a path, gs://bucket/prefix or s3://bucket/prefix, got {uri!r}")
    return scheme in ("", "file")


def fsync_path(path: str | Path) -> None:
    """fsync a file or a directory by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: str | Path) -> None:
    """``mkdir -p`` whose new entries survive a crash: each created directory's parent is fsynced."""
    path = Path(path)
    if path.is_dir():
        return
    make_dirs(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return
    fsync_path(path.parent)


def spool_dir(kind: str) -> Path:
    """A new private temporary directory ``streamlake-KIND-PID-*``; those of processes no longer running (killed
    before they could remove theirs) are deleted first."""
    base = Path(tempfile.gettempdir())
    for old in base.glob(f"streamlake-{kind}-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"streamlake-{kind}-{os.getpid()}-"))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class Root:
    """A storage root given as a path or a ``gs://bucket/prefix`` / ``s3://bucket/prefix`` URI."""

    def __init__(self, uri: str, what: str = "storage root") -> None:
        self.uri = uri.rstrip("/") or uri
        self.local = check_uri(uri, what)
        if self.local:
            path = uri[len("file://") :] if uri.startswith("file://") else uri
            self.fs: pafs.FileSystem = pafs.LocalFileSystem()
            self.path = os.path.abspath(path)
            return
        try:
            self.fs, path = pafs.FileSystem.from_uri(uri)
        except (OSError, pa.ArrowInvalid) as e:
            raise ConfigError(f"cannot open {what} {uri}: {e}") from e
        self.path = path.rstrip("/")

    def spool_path(self, directory: str, name: str, spool_dir: Path) -> Path:
        """Where to write a file that will later be published into ``directory``: the hidden ``.NAME.tmp`` there on
        local disk (so the rename is atomic; readers skip hidden files), else ``spool_dir/NAME``."""
        if self.local:
            make_dirs(directory)
            return Path(directory) / f".{name}.tmp"
        return spool_dir / name

    def publish(self, spool: Path, final: str) -> int:
        """Make the finished file ``spool`` visible as ``final``, whole; returns its size in bytes."""
        size = spool.stat().st_size
        if self.local:
            fsync_path(spool)
            os.rename(spool, final)
            fsync_path(os.path.dirname(final))
            return size
        with open(spool, "rb") as src, self.fs.open_output_stream(final) as dst:
            shutil.copyfileobj(src, dst, 8 << 20)
        spool.unlink(missing_ok=True)
        return size

    def write_whole(self, final: str, body: bytes, spool_dir: Path) -> int:
        """Write ``body`` as the file ``final``, visible whole or not at all."""
        spool = self.spool_path(os.path.dirname(final), os.path.basename(final), spool_dir)
        with open(spool, "wb") as f:
            f.write(body)
        return self.publish(spool, final)

    def __repr__(self) -> str:
        return f"Root({self.uri!r})"
