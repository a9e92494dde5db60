"""The message ids of a lake's newest files: what a restarted lake sink checks redeliveries against
(:mod:`~streamlake_fast.sinks.redeliveries`). The lake is listed once, at start; files are read newest first (by
their store's modification time), only their ``message_id`` column, until ``limit`` rows."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from streamlake_fast.sinks.lake.layout import is_data_file
from streamlake_fast.sinks.redeliveries import file_keys, newest_ids
from streamlake_fast.transports.storage import Root

__all__ = ["recent_ids"]

log = logging.getLogger(__name__)


def recent_ids(root: Root, limit: int) -> pa.Array | None:
    """The ``message_id`` values of the newest visible files under ``root``, at least ``limit`` of them when the
    lake holds that many (None: no file)."""
    infos = root.fs.get_file_info(pafs.FileSelector(root.path, recursive=True, allow_not_found=True))
    files = [i for i in infos if i.type == pafs.FileType.File and is_data_file(i.base_name) and i.mtime is not None]
    files.sort(key=lambda i: i.mtime, reverse=True)
    return newest_ids(f"lake:{root.shown}", (_ids(root, info) for info in files), limit)


def _ids(root: Root, info: pafs.FileInfo) -> pa.Array | None:
    try:
        with root.fs.open_input_file(info.path) as f:
            return file_keys(pq.ParquetFile(f))
    except (OSError, pa.ArrowException) as e:  # verify reports it; the check goes on without it
        log.warning("lake:%s: cannot read %s for redeliveries: %s", root.shown, info.path, e)
        return None
