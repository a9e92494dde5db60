"""Dead letters to a Pub/Sub topic: the message data unchanged, its own attributes plus the record's other fields
as attributes (``subscription_name``, ``message_id``, ``publish_time``, ``reason_code``, ``path``, ``message``,
``schema_fingerprint``, ``rejected_at``)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from streamlake_fast.endpoints import pubsub_publisher
from streamlake_fast.exceptions import TransientSinkError
from streamlake_fast.names import check_topic
from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA

__all__ = ["DeadLetterTopic"]

_MAX_ATTRIBUTE = 1024  # Pub/Sub's limit on an attribute value


class DeadLetterTopic(WriteIsDurable):
    """Publish each dead-letter record to ``projects/P/topics/T``; a write returns once Pub/Sub has them all."""

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, topic: str, publisher: Any | None = None, timeout: float = 60.0) -> None:
        self.topic = check_topic(topic)
        self.name = f"pubsub:{topic}"
        self._publisher = publisher or pubsub_publisher()
        self._timeout = timeout
        self.rows_written = 0

    def write(self, batch: pa.RecordBatch) -> None:
        futures = []
        for record in batch.to_pylist():
            data = record.pop("data")
            attrs = json.loads(record.pop("attributes"))
            for key, value in record.items():
                text = value.isoformat() if hasattr(value, "isoformat") else str(value)
                attrs[key] = text[:_MAX_ATTRIBUTE]
            futures.append(self._publisher.publish(self.topic, data, **attrs))
        try:
            for f in futures:
                f.result(timeout=self._timeout)
        except Exception as e:  # the publisher's errors vary by transport; all mean "not durable"
            raise TransientSinkError(f"{self.name}: publish failed: {e}") from e
        self.rows_written += len(futures)
        self._written()

    def close(self) -> None:
        self._publisher.stop()
