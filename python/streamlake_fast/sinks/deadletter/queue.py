"""Dead letters to an SQS queue: each record in the envelope form (the whole record as JSON in the body, with
``data`` or ``data_base64``), ``reason_code``, ``path``, ``message_id``, ``subscription_name`` and
``envelope=json`` as message attributes (SQS allows ten), within the queue's message size. ``SendMessageBatch``,
ten entries each, sent by the queue's :class:`~streamlake_fast.transports.aws.sender.QueueSender` (entries failed
for a transient reason sent again, the worker's stop honoured); one refused for good stops the worker."""

from __future__ import annotations

import hashlib
import logging
import threading

import pyarrow as pa

from streamlake_fast.exceptions import PublishError, SinkError, TransientSinkError
from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.envelope import envelope_body, record_fields, size, truncate
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.aws.client import SqsClient
from streamlake_fast.transports.aws.sender import QueueSender
from streamlake_fast.transports.aws.wire import send_batch_requests
from streamlake_fast.transports.names import check_queue_url
from streamlake_fast.transports.sending import send_all

__all__ = ["DeadLetterQueue"]

log = logging.getLogger(__name__)

ATTRIBUTES = ("reason_code", "path", "message_id", "subscription_name")
MAX_ATTRIBUTE_BYTES = 256  # each attribute value: the full text is in the body
MAX_BATCH_BYTES = 1_000_000  # SQS: 1 MiB of bodies and attributes per SendMessageBatch


class DeadLetterQueue(WriteIsDurable):
    """Send each dead-letter record to the queue at ``queue_url``; a write returns once SQS has them all.

    :param max_message_bytes: the queue's ``MaximumMessageSize`` (256 KiB, the default of queues made before
        2025, fits every queue; up to 1 MiB).
    """

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, queue_url: str, *, client: SqsClient | None = None, max_message_bytes: int = 262_144) -> None:
        self.queue_url = check_queue_url(queue_url)
        self.name = f"sqs:{queue_url}"
        self._sender = QueueSender(queue_url, client=client or SqsClient())
        self._abort: threading.Event | None = None
        self.max_message_bytes = max_message_bytes
        self.fifo = queue_url.endswith(".fifo")
        self.rows_written = 0

    def _entry(self, record: dict[str, object]) -> tuple[str, list[tuple[str, str]], str | None, str | None]:
        fields = record_fields(record)
        attributes = {k: truncate(fields[k], MAX_ATTRIBUTE_BYTES) for k in ATTRIBUTES if fields.get(k)}
        attributes["envelope"] = "json"
        body = envelope_body(record, self.max_message_bytes - size(attributes)).decode()
        if not self.fifo:
            return body, list(attributes.items()), None, None
        dedup = hashlib.sha256(f"{fields['subscription_name']}/{fields['message_id']}".encode()).hexdigest()
        return body, list(attributes.items()), "dead-letters", dedup

    def write(self, batch: pa.RecordBatch) -> None:
        entries = [self._entry(r) for r in batch.to_pylist()]
        requests = send_batch_requests(self.queue_url, entries, MAX_BATCH_BYTES)
        try:
            sent = send_all(self._sender, [r for r, _ in requests], [n for _, n in requests], abort=self._abort)
        except PublishError as e:
            self.rows_written += e.published
            raise (TransientSinkError if e.retryable else SinkError)(f"{self.name}: {e}") from e
        self.rows_written += sent.accepted
        if sent.refused:  # a dead letter SQS will never take: the worker must stop, not drop it
            raise SinkError(f"{self.name}: SQS refused {len(sent.refused)} dead letters: {sent.refused[0][1]}")
        self._written()

    def abort_on(self, abort: threading.Event) -> None:
        """Stop retrying a send once ``abort`` is set (the worker's stop)."""
        self._abort = abort

    def close(self) -> None:
        self._sender.close()
