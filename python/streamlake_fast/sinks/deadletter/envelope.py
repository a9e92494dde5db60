"""The envelope form of a dead letter, for message services with tight limits (a Pub/Sub topic, an SQS queue): the
whole record as JSON (as the dead-letter files hold it) in the message body, and a few of its fields as attributes,
cut to fit. A record too large for the service keeps the first bytes of the data with ``data_truncated``,
``data_size`` and ``data_sha256`` (and a ``path`` or ``message`` over 100 kB is cut the same way): a dead letter
always fits, never a crash."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from streamlake_fast.sinks.deadletter.record import as_json

__all__ = ["envelope_body", "record_fields", "size", "truncate"]

MAX_TEXT_BYTES = 100_000  # of a reason's path or message inside a truncated envelope


def truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary."""
    return text.encode()[:max_bytes].decode(errors="ignore")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def size(attributes: dict[str, str]) -> int:
    """Bytes of attribute names and values (what the services count)."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())


def record_fields(record: dict[str, Any]) -> dict[str, str]:
    """The record's fields other than ``data`` and ``attributes``, as text."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in record.items()
            if k not in ("data", "attributes")}  # fmt: skip


def envelope_body(record: dict[str, Any], room: int) -> bytes:
    """The record as JSON in at most ``room`` bytes (the data cut, with its size and hash, when it would not fit)."""
    envelope = as_json(record)
    body = json.dumps(envelope, ensure_ascii=False).encode()
    if len(body) <= room:
        return body
    data: bytes = record["data"]
    envelope.pop("data", None)
    envelope.pop("data_base64", None)
    envelope |= {"data_truncated": True, "data_size": len(data), "data_sha256": sha256(data)}
    for key in ("path", "message"):  # a reason can be as large as the event (an unknown 9 MB key)
        text = envelope[key]
        if len(text.encode()) > MAX_TEXT_BYTES:
            envelope |= {key: truncate(text, MAX_TEXT_BYTES), f"{key}_size": len(text.encode()),
                         f"{key}_sha256": sha256(text.encode())}  # fmt: skip
    rest = len(json.dumps(envelope, ensure_ascii=False).encode()) + len(', "data_base64": ""')
    envelope["data_base64"] = base64.b64encode(data[: max(0, room - rest) // 4 * 3]).decode()
    return json.dumps(envelope, ensure_ascii=False).encode()
