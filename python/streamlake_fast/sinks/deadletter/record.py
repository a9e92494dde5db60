"""The one dead-letter record shape, the same in every destination (topic attributes, table columns, file fields):

| field | meaning |
|---|---|
| ``subscription_name`` | where the message came from (a subscription, a queue) |
| ``message_id`` | the original message's id |
| ``publish_time`` | when it was published |
| ``attributes`` | its attributes, a JSON object of strings (on a topic: the message's own attributes) |
| ``data`` | its raw bytes, unchanged (on a topic: the message data) |
| ``reason_code`` | the reject code (``invalid_json``, ``missing_required``, ...) |
| ``path`` | where in the event (``items[2].qty``; empty for the whole message) |
| ``message`` | the reason in words |
| ``schema_fingerprint`` | the schema it was checked against |
| ``rejected_at`` | when the worker rejected it |

The first four are the metadata columns (:mod:`streamlake_fast.codec.messages`); the whole record is built in Rust
(``rust/src/received.rs``), one call for all the rejects of a batch.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from streamlake_fast.codec.codec import Reject
from streamlake_fast.codec.messages import DEAD_LETTER_SCHEMA, METADATA_BIGQUERY_TYPES, Messages
from streamlake_fast.codec.schema import BigQueryField

__all__ = ["CUT_MARK", "DEAD_LETTER_FIELDS", "DEAD_LETTER_SCHEMA", "REASON_FIELDS", "as_json", "dead_letter_records"]

#: The fields added to a rejected message's own (metadata and data).
REASON_FIELDS = tuple(DEAD_LETTER_SCHEMA.names[DEAD_LETTER_SCHEMA.names.index("data") + 1 :])
#: What a dead-letter destination that keeps only the first part of a large message's data (the rejects table)
#: adds to ``message``: replay recognises it and leaves such a record where it is ("not replayable").
CUT_MARK = "(data cut to its first "

#: The record as BigQuery columns (the rejects table).
_TYPES = {
    **{name: types[0] for name, types in METADATA_BIGQUERY_TYPES.items()},
    "data": "BYTES",
    **dict.fromkeys(REASON_FIELDS[:-1], "STRING"),
    "rejected_at": "TIMESTAMP",
}
DEAD_LETTER_FIELDS: list[BigQueryField] = [{"name": n, "type": t, "mode": "REQUIRED"} for n, t in _TYPES.items()]


def dead_letter_records(
    messages: Messages, rejects: list[Reject], *, source: str, schema_fingerprint: str
) -> pa.RecordBatch:
    """The dead-letter records of ``rejects`` (indices into ``messages``), built in Rust."""
    reasons = [(r.index, r.code, r.path, r.message) for r in rejects]
    now = datetime.now(timezone.utc)
    return messages.dead_letters(reasons, source=source, schema_fingerprint=schema_fingerprint, rejected_at=now)


def as_json(record: dict[str, Any]) -> dict[str, Any]:
    """One record (a row of :func:`dead_letter_records` as ``to_pylist`` gives it) as a JSON object: the
    attributes as an object, times in ISO 8601, the data as ``data`` when it is UTF-8 text, else ``data_base64``."""
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items() if k != "data"}
    out["attributes"] = json.loads(record["attributes"])
    data: bytes = record["data"]
    try:
        out["data"] = data.decode()
    except UnicodeDecodeError:
        out["data_base64"] = base64.b64encode(data).decode()
    return out
