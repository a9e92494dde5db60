"""Dead-letter destinations: every rejected message, with its raw data, attributes and the reason.

A Pub/Sub topic (the raw data as the message, the reason in attributes) or a BigQuery table
(``<table>_rejects`` by default). A write returns only when the rejects are durable, so they can be acked.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import pyarrow as pa

from streamlake_fast._native import PullBatch
from streamlake_fast.codec import Reject
from streamlake_fast.endpoints import bigquery_client, pubsub_publisher
from streamlake_fast.exceptions import TransientSinkError
from streamlake_fast.sinks.bigquery import BigQuerySink, parse_table

__all__ = ["DeadLetter", "DeadLetterTable", "DeadLetterTopic", "RejectedMessage", "rejected_messages"]

log = logging.getLogger(__name__)

_MAX_ATTRIBUTE = 1024  # Pub/Sub's limit on an attribute value


@dataclass(frozen=True)
class RejectedMessage:
    data: bytes
    attributes: dict[str, str]
    message_id: str
    publish_time_us: int
    reject: Reject


def rejected_messages(batch: PullBatch, rejects: list[Reject]) -> list[RejectedMessage]:
    """The rejected messages of a pull batch with their raw data and attributes."""
    out = []
    for r in rejects:
        data, attributes, message_id, publish_us, _ = batch.message(r.index)
        out.append(RejectedMessage(data, dict(attributes), message_id, publish_us, r))
    return out


class DeadLetter(Protocol):
    name: str

    def write(self, messages: list[RejectedMessage], *, subscription: str, schema_fingerprint: str) -> None: ...
    def close(self) -> None: ...


class DeadLetterTopic:
    """Publish each reject to ``projects/P/topics/T``: data unchanged; attributes = the original ones plus
    ``reason_code``, ``path``, ``message``, ``schema_fingerprint``, ``original_message_id``, ``subscription``."""

    def __init__(self, topic: str, publisher: Any | None = None, timeout: float = 60.0) -> None:
        if not topic.startswith("projects/") or "/topics/" not in topic:
            raise ValueError(f"dead-letter topic must look like projects/P/topics/T, got {topic!r}")
        self.name = f"pubsub:{topic}"
        self.topic = topic
        self._publisher = publisher or pubsub_publisher()
        self._timeout = timeout
        self.published = 0

    def write(self, messages: list[RejectedMessage], *, subscription: str, schema_fingerprint: str) -> None:
        futures = []
        for m in messages:
            attrs = dict(m.attributes)
            attrs.update(
                reason_code=m.reject.code,
                path=m.reject.path,
                message=m.reject.message[:_MAX_ATTRIBUTE],
                schema_fingerprint=schema_fingerprint,
                original_message_id=m.message_id,
                subscription=subscription,
            )
            futures.append(self._publisher.publish(self.topic, m.data, **attrs))
        try:
            for f in futures:
                f.result(timeout=self._timeout)
        except Exception as e:  # the publisher's errors vary by transport; all mean "not durable"
            raise TransientSinkError(f"{self.name}: publish failed: {e}") from e
        self.published += len(futures)

    def close(self) -> None:
        self._publisher.stop()


REJECTS_SCHEMA = [
    {"name": "subscription_name", "type": "STRING", "mode": "REQUIRED"},
    {"name": "message_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "publish_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
    {"name": "attributes", "type": "STRING", "mode": "NULLABLE"},
    {"name": "data", "type": "BYTES", "mode": "NULLABLE"},
    {"name": "reason_code", "type": "STRING", "mode": "REQUIRED"},
    {"name": "path", "type": "STRING", "mode": "NULLABLE"},
    {"name": "message", "type": "STRING", "mode": "NULLABLE"},
    {"name": "schema_fingerprint", "type": "STRING", "mode": "NULLABLE"},
    {"name": "rejected_at", "type": "TIMESTAMP", "mode": "REQUIRED"},
]


def _utc(micros: int) -> datetime | None:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc) if micros else None


class DeadLetterTable:
    """Write rejects as rows of a BigQuery table (created with :data:`REJECTS_SCHEMA` when missing)."""

    def __init__(self, table: str, *, create: bool = True, sink: BigQuerySink | None = None) -> None:
        project, dataset, name = parse_table(table)
        self.name = f"bigquery:{project}.{dataset}.{name}"
        if create:
            from google.cloud import bigquery

            client = bigquery_client(project)
            fields = [bigquery.SchemaField.from_api_repr(f) for f in REJECTS_SCHEMA]
            client.create_table(bigquery.Table(f"{project}.{dataset}.{name}", schema=fields), exists_ok=True)
        self._sink = sink or BigQuerySink(f"{project}.{dataset}.{name}")
        from streamlake_fast.schema import Schema

        self._schema = Schema.from_bigquery(REJECTS_SCHEMA).to_arrow()

    def write(self, messages: list[RejectedMessage], *, subscription: str, schema_fingerprint: str) -> None:
        if not messages:
            return
        now = datetime.now(timezone.utc)
        rows = [
            {
                "subscription_name": subscription,
                "message_id": m.message_id,
                "publish_time": _utc(m.publish_time_us),
                "attributes": json.dumps(m.attributes),
                "data": m.data,
                "reason_code": m.reject.code,
                "path": m.reject.path,
                "message": m.reject.message,
                "schema_fingerprint": schema_fingerprint,
                "rejected_at": now,
            }
            for m in messages
        ]
        self._sink.write(pa.RecordBatch.from_pylist(rows, schema=self._schema))

    def close(self) -> None:
        self._sink.close()
