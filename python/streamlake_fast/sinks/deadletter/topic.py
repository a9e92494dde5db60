"""Dead letters to a Pub/Sub topic: the message data unchanged, its own attributes plus the record's other fields
as attributes (``subscription_name``, ``message_id``, ``publish_time``, ``reason_code``, ``path``, ``message``,
``schema_fingerprint``, ``rejected_at``)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from streamlake_fast.exceptions import PublishError, SinkError, TransientSinkError
from streamlake_fast.pubsub_publish import RequestSender
from streamlake_fast.pubsub_wire import publish_requests
from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA

__all__ = ["DeadLetterTopic"]

_MAX_ATTRIBUTE = 1024  # Pub/Sub's limit on an attribute value


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary."""
    return text.encode()[:max_bytes].decode(errors="ignore")


class DeadLetterTopic(WriteIsDurable):
    """Publish each dead-letter record to ``projects/P/topics/T``; a write returns once Pub/Sub has them all."""

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, topic: str, *, timeout: float = 60.0, channel: Any | None = None) -> None:
        self._sender = RequestSender(topic, timeout=timeout, channel=channel)
        self.topic = topic
        self.name = f"pubsub:{topic}"
        self.rows_written = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            messages = []
            for record in batch.to_pylist():
                data = record.pop("data")
                attrs = json.loads(record.pop("attributes"))
                for key, value in record.items():
                    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
                    attrs[key] = _truncate(text, _MAX_ATTRIBUTE)
                messages.append((data, list(attrs.items())))
            try:
                self.rows_written += self._sender.send_all(*publish_requests(self.topic, messages))
            except PublishError as e:
                raise (TransientSinkError if e.retryable else SinkError)(f"{self.name}: {e}") from e
        self._written()

    def close(self) -> None:
        self._sender.close()
