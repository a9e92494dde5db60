"""Dead letters as NDJSON files beside the lake: ``ROOT/_rejects/dt=YYYY-MM-DD/rejects-*.ndjson``.

One file per batch of rejects, made visible whole (like the lake's Parquet files). Each line is a dead-letter
record; ``data`` holds the raw message when it is UTF-8 text, else ``data_base64`` holds it, and ``attributes`` is
a JSON object. Readers of the lake skip the ``_rejects`` directory (a leading underscore is hidden from
pyarrow.dataset; it holds no Parquet files).
"""

from __future__ import annotations

import json
import secrets
import shutil
import time

import pyarrow as pa

from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA, as_json
from streamlake_fast.sinks.lake.layout import PARTITION_KEY
from streamlake_fast.transports.storage import Root, sink_error, spool_dir

__all__ = ["DeadLetterFiles"]


class DeadLetterFiles(WriteIsDurable):
    """Write dead-letter records under ``root/_rejects`` (a path, ``gs://`` or ``s3://`` URI)."""

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, root: str) -> None:
        self._root = Root(root)
        self.directory = f"{self._root.path}/_rejects"
        self.name = f"files:{self._root.shown}/_rejects"
        self._token = secrets.token_hex(4)
        self._spool = spool_dir("rejects")
        self._count = 0
        self.rows_written = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._write_file(batch)
        self._written()

    def _write_file(self, batch: pa.RecordBatch) -> None:
        lines = [json.dumps(as_json(record), ensure_ascii=False) for record in batch.to_pylist()]
        body = ("\n".join(lines) + "\n").encode()
        self._count += 1
        day = batch.column("rejected_at")[0].as_py().date().isoformat()
        name = f"rejects-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{self._token}{self._count:05d}.ndjson"
        try:
            self._root.write_whole(f"{self.directory}/{PARTITION_KEY}={day}/{name}", body, self._spool)
        except OSError as e:
            raise sink_error(e, self.name) from e
        self.rows_written += batch.num_rows

    def close(self) -> None:
        shutil.rmtree(self._spool, ignore_errors=True)
