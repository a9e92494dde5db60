"""Where files go — a local path, ``gs://`` or ``s3://`` — and how a file becomes visible: whole, or not at all.

Local disk: the file is written under a hidden temporary name beside its final one, fsynced, renamed, and the
directory fsynced (and a new directory's parent, so the directory entry itself survives a crash). Object stores:
the file is uploaded under the same hidden temporary name, then moved (a server-side copy) to its final key — an
upload interrupted midway (an error, Ctrl-C) never completes at the final key, and the temporary is deleted (or,
after a kill, left for ``lake verify --clean``).

Errors are classified by :func:`is_permanent`: a missing bucket or a permission refused will not heal by retrying;
a full disk or a dropped connection may.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError

__all__ = ["Root", "check_uri", "fsync_path", "is_permanent", "make_dirs", "shown_uri", "sink_error", "spool_dir"]

_REMOTE = ("gs", "gcs", "s3")

#: errno values that retrying will not fix (ENOSPC and EDQUOT are not among them: space can be freed).
_PERMANENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR})
#: Object-store error names (pyarrow's S3 and GCS messages) that retrying will not fix.
_PERMANENT_MARKERS = ("NO_SUCH_BUCKET", "ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH",
                      "PERMISSION_DENIED", "UNAUTHENTICATED", "NoSuchBucket", "AccessDenied")  # fmt: skip


def is_permanent(e: OSError) -> bool:
    """Whether a storage error will not heal by retrying: permission refused, a read-only or missing path, a
    bucket that does not exist, bad credentials. A full disk and network errors are transient."""
    if e.errno is not None:
        return e.errno in _PERMANENT_ERRNOS
    text = str(e)
    return any(marker in text for marker in _PERMANENT_MARKERS)


def sink_error(e: OSError, what: str) -> SinkError:
    """``e`` as the sink error the worker acts on: :class:`TransientSinkError` (retried) unless permanent."""
    kind = SinkError if is_permanent(e) else TransientSinkError
    return kind(f"{what}: {e}")


def shown_uri(uri: str) -> str:
    """``uri`` as it may be printed: credentials in it (``s3://KEY:SECRET@bucket/...``) replaced by ``***``."""
    parsed = urlparse(uri)
    if "@" not in parsed.netloc:
        return uri
    return uri.replace(parsed.netloc.rsplit("@", 1)[0], "***", 1)


def _without_secrets(text: str, uri: str) -> str:
    """``text`` (an error message about ``uri``) without the credentials ``uri`` holds."""
    secret = urlparse(uri).netloc.rsplit("@", 1)[0] if "@" in urlparse(uri).netloc else ""
    return text.replace(secret, "***") if secret else text


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
        self.shown = shown_uri(self.uri)  # what messages print: no credentials
        self.local = check_uri(shown_uri(uri), what)
        if self.local:
            path = uri[len("file://") :] if uri.startswith("file://") else uri
            self.fs: pafs.FileSystem = pafs.LocalFileSystem()
            self.path = os.path.abspath(path)
            return
        try:
            self.fs, path = pafs.FileSystem.from_uri(uri)
        except (OSError, pa.ArrowInvalid) as e:
            raise ConfigError(f"cannot open {what} {self.shown}: {_without_secrets(str(e), uri)}") from e
        self.path = path.rstrip("/")

    def spool_path(self, directory: str, name: str, spool_dir: Path) -> Path:
        """Where to write a file that will later be published into ``directory``: the hidden ``.NAME.tmp`` there on
        local disk (so the rename is atomic; readers skip hidden files), else ``spool_dir/NAME``."""
        if self.local:
            make_dirs(directory)
            return Path(directory) / hidden_name(name)
        return spool_dir / name

    def publish(self, spool: Path, final: str) -> int:
        """Make the finished file ``spool`` visible as ``final``, whole; returns its size in bytes."""
        size = spool.stat().st_size
        if self.local:
            fsync_path(spool)
            os.rename(spool, final)
            fsync_path(os.path.dirname(final))
            return size
        directory, name = final.rsplit("/", 1)
        temporary = f"{directory}/{hidden_name(name)}"
        try:
            # Closing an object-store stream completes its upload even after an error: hence the temporary key.
            with open(spool, "rb") as src, self.fs.open_output_stream(temporary) as dst:
                _copy(src, dst)
            self.fs.move(temporary, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.delete_file(temporary)
            if not self._exists(final, size):  # a move whose reply was lost did happen
                raise
        spool.unlink(missing_ok=True)
        return size

    def _exists(self, path: str, size: int) -> bool:
        try:
            info = self.fs.get_file_info(path)
        except OSError:
            return False
        return bool(info.type == pafs.FileType.File and info.size == size)

    def write_whole(self, final: str, body: bytes, spool_dir: Path) -> int:
        """Write ``body`` as the file ``final``, visible whole or not at all."""
        spool = self.spool_path(os.path.dirname(final), os.path.basename(final), spool_dir)
        with open(spool, "wb") as f:
            f.write(body)
        return self.publish(spool, final)

    def __repr__(self) -> str:
        return f"Root({self.uri!r})"


def hidden_name(name: str) -> str:
    """The temporary name a file has until it is whole: hidden (readers skip names starting with a dot)."""
    return f".{name}.tmp"


def _copy(src: BinaryIO, dst: pa.NativeFile) -> None:
    shutil.copyfileobj(src, dst, 8 << 20)
