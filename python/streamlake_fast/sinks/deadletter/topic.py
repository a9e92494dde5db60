"""Dead letters to a Pub/Sub topic.

Plain form: the message data unchanged, its own attributes plus the record's other fields as attributes
(``subscription_name``, ``message_id``, ``publish_time``, ``reason_code``, ``path``, ``message``,
``schema_fingerprint``, ``rejected_at``). When that would not fit Pub/Sub's limits (100 attributes, 1,024 bytes a
value, 10 MB a message) or an original attribute has the name of a field, the **envelope** form keeps everything
losslessly: the data is the whole record as JSON (as the dead-letter files hold it), the attributes are the
record's fields cut to fit plus ``envelope=json``. A record still over 9.5 MB keeps the first bytes of the data
with ``data_truncated``, ``data_size`` and ``data_sha256`` (and a reason's ``path`` or ``message`` longer than
100 kB is cut the same way, with its size and hash): a dead letter always fits, never a crash.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pyarrow as pa

from streamlake_fast.exceptions import PublishError, SinkError, TransientSinkError
from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.envelope import envelope_body, record_fields, size, truncate
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.gcp.sender import RequestSender
from streamlake_fast.transports.gcp.wire import publish_requests
from streamlake_fast.transports.sending import send_all

__all__ = ["DeadLetterTopic", "pubsub_message"]

MAX_ATTRIBUTES = 100  # Pub/Sub's limits on a message
MAX_VALUE_BYTES = 1024
MAX_MESSAGE_BYTES = 9_500_000  # of data and attributes: under the 10 MB request limit with room to spare


def pubsub_message(record: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """``(data, attributes)`` of the dead letter for one record: the plain form if it fits, else the envelope."""
    data: bytes = record["data"]
    original: dict[str, str] = json.loads(record["attributes"])
    fields = record_fields(record)
    plain = {**original, **fields}
    if (
        not original.keys() & {*fields, "envelope"}
        and len(plain) <= MAX_ATTRIBUTES
        and all(len(v.encode()) <= MAX_VALUE_BYTES for v in plain.values())
        and len(data) + size(plain) <= MAX_MESSAGE_BYTES
    ):
        return data, plain
    attributes = {k: truncate(v, MAX_VALUE_BYTES) for k, v in fields.items()} | {"envelope": "json"}
    return envelope_body(record, MAX_MESSAGE_BYTES - size(attributes)), attributes


class DeadLetterTopic(WriteIsDurable):
    """Publish each dead-letter record to ``projects/P/topics/T``; a write returns once Pub/Sub has them all."""

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, topic: str, *, timeout: float = 60.0, channel: Any | None = None) -> None:
        self._sender = RequestSender(topic, timeout=timeout, channel=channel)
        self._abort: threading.Event | None = None
        self.topic = topic
        self.name = f"pubsub:{topic}"
        self.rows_written = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            messages = []
            for record in batch.to_pylist():
                data, attributes = pubsub_message(record)
                messages.append((data, list(attributes.items())))
            try:
                sent = send_all(self._sender, *publish_requests(self.topic, messages), abort=self._abort)
                self.rows_written += sent.accepted
            except PublishError as e:
                raise (TransientSinkError if e.retryable else SinkError)(f"{self.name}: {e}") from e
        self._written()

    def abort_on(self, abort: threading.Event) -> None:
        """Stop retrying a publish once ``abort`` is set (the worker's stop)."""
        self._abort = abort

    def close(self) -> None:
        self._sender.close()
