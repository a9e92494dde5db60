"""Dead letters as NDJSON files beside the lake: ``ROOT/_rejects/dt=YYYY-MM-DD/rejects-*.ndjson``.

One file per batch of rejects, made visible whole (like the lake's Parquet files). Each line holds the raw data
(``data`` when it is UTF-8 text, else ``data_base64``), the original attributes and the reason. Readers of the lake
skip the ``_rejects`` directory (a leading underscore is hidden from pyarrow.dataset; it holds no Parquet files).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from datetime import datetime, timezone

from streamlake_fast.exceptions import TransientSinkError
from streamlake_fast.lake.layout import PARTITION_KEY, open_root
from streamlake_fast.sinks.deadletter import RejectedMessage

__all__ = ["DeadLetterFiles"]


class DeadLetterFiles:
    """Write rejects under ``root/_rejects`` (a path, ``gs://`` or ``s3://`` URI)."""

    def __init__(self, root: str) -> None:
        self.fs, base, self._local = open_root(root)
        self.directory = f"{base}/_rejects"
        self.name = f"files:{root.rstrip('/')}/_rejects"
        self._token = secrets.token_hex(4)
        self._count = 0
        self.written = 0

    def write(self, messages: list[RejectedMessage], *, subscription: str, schema_fingerprint: str) -> None:
        if not messages:
            return
        now = datetime.now(timezone.utc)
        lines = []
        for m in messages:
            record: dict[str, object] = {
                "subscription_name": subscription,
                "message_id": m.message_id,
                "publish_time": _iso(m.publish_time_us),
                "attributes": m.attributes,
                "reason_code": m.reject.code,
                "path": m.reject.path,
                "message": m.reject.message,
                "schema_fingerprint": schema_fingerprint,
                "rejected_at": now.isoformat(),
            }
            try:
                record["data"] = m.data.decode()
            except UnicodeDecodeError:
                record["data_base64"] = base64.b64encode(m.data).decode()
            lines.append(json.dumps(record, ensure_ascii=False))
        body = ("\n".join(lines) + "\n").encode()
        self._count += 1
        directory = f"{self.directory}/{PARTITION_KEY}={now.date().isoformat()}"
        name = f"rejects-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{self._token}{self._count:05d}.ndjson"
        try:
            self._put(directory, name, body)
        except OSError as e:
            raise TransientSinkError(f"{self.name}: {e}") from e
        self.written += len(messages)

    def _put(self, directory: str, name: str, body: bytes) -> None:
        if not self._local:
            with self.fs.open_output_stream(f"{directory}/{name}") as out:
                out.write(body)
            return
        os.makedirs(directory, exist_ok=True)
        tmp = f"{directory}/.{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, f"{directory}/{name}")

    def close(self) -> None:
        pass


def _iso(micros: int) -> str | None:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).isoformat() if micros else None
