"""Dead letters to an SQS queue: each record in the envelope form (the whole record as JSON in the body, with
``data`` or ``data_base64``), ``reason_code``, ``path``, ``message_id``, ``subscription_name`` and
``envelope=json`` as message attributes (SQS allows ten), within the queue's message size. ``SendMessageBatch``,
ten entries each; entries failed for a transient reason are sent again, one refused for good stops the worker."""

from __future__ import annotations

import hashlib
import logging
from functools import partial

import pyarrow as pa

from streamlake_fast.exceptions import SinkError, TransientSinkError
from streamlake_fast.sinks.base import WriteIsDurable
from streamlake_fast.sinks.deadletter.envelope import envelope_body, record_fields, size, truncate
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.aws.client import SQS_RETRY, AwsError, SqsClient, is_retryable
from streamlake_fast.transports.aws.wire import batch_failures, send_batch_requests
from streamlake_fast.transports.names import check_queue_url

__all__ = ["DeadLetterQueue"]

log = logging.getLogger(__name__)

ATTRIBUTES = ("reason_code", "path", "message_id", "subscription_name")
MAX_ATTRIBUTE_BYTES = 256  # each attribute value: the full text is in the body
MAX_BATCH_BYTES = 1_000_000  # SQS: 1 MiB of bodies and attributes per SendMessageBatch
ROUNDS = 5  # of sending again the entries SQS failed for a transient reason


class DeadLetterQueue(WriteIsDurable):
    """Send each dead-letter record to the queue at ``queue_url``; a write returns once SQS has them all.

    :param max_message_bytes: the queue's ``MaximumMessageSize`` (256 KiB, the default of queues made before
        2025, fits every queue; up to 1 MiB).
    """

    schema = DEAD_LETTER_SCHEMA

    def __init__(self, queue_url: str, *, client: SqsClient | None = None, max_message_bytes: int = 262_144) -> None:
        self.queue_url = check_queue_url(queue_url)
        self.name = f"sqs:{queue_url}"
        self.client = client or SqsClient()
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
        for _ in range(ROUNDS):
            if not entries:
                break
            entries = self._send(entries)
        if entries:
            raise TransientSinkError(f"{self.name}: {len(entries)} dead letters still failing")
        self._written()

    def _send(
        self, entries: list[tuple[str, list[tuple[str, str]], str | None, str | None]]
    ) -> list[tuple[str, list[tuple[str, str]], str | None, str | None]]:
        """Send ``entries``; returns those SQS failed for a transient reason."""
        again = []
        for body, _count in send_batch_requests(self.queue_url, entries, MAX_BATCH_BYTES):
            try:
                answer = SQS_RETRY.call(partial(self.client.call, "SendMessageBatch", body), retryable=is_retryable,
                                        what=f"send to {self.queue_url}")  # fmt: skip
            except AwsError as e:  # a missing queue, no permission: for good
                raise (TransientSinkError if e.retryable else SinkError)(f"{self.name}: {e}") from e
            ok, failed = batch_failures(answer)
            for f in failed:  # entry ids are positions in ``entries``
                if f.sender_fault:
                    raise SinkError(f"{self.name}: SQS refused a dead letter ({f.code}: {f.message})")
                again.append(entries[f.index])
            self.rows_written += ok
        return again

    def close(self) -> None:
        """Nothing to release: the HTTP connections are the client's."""
