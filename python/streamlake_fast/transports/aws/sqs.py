"""Amazon SQS without a Python object per message.

``ReceiveMessage`` calls (long polling, up to ten messages each) run on several threads; each response body is read
in Rust into :class:`~streamlake_fast.codec.messages.Messages` and becomes one delivery. Acknowledging is
``DeleteMessageBatch`` — sent only once every destination holds the messages durably — a lease extension is
``ChangeMessageVisibilityBatch``, and handing a message back sets its visibility to 0. The batch requests are built
in Rust and sent ``SETTLE_CONCURRENCY`` at a time (ten entries each: acknowledging a 10,000-message file is a
thousand calls); entries SQS fails are sent again while the failure is transient. Flow control and leases:
:class:`~streamlake_fast.sources.polling.PollingSource`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from streamlake_fast.codec.messages import Messages
from streamlake_fast.config import SqsConfig
from streamlake_fast.exceptions import ConfigError, SourceError
from streamlake_fast.sources.polling import PollingSource
from streamlake_fast.transports.aws.client import SQS_RETRY, AwsError, SqsClient, is_retryable
from streamlake_fast.transports.aws.wire import batch_failures, batch_requests
from streamlake_fast.transports.names import check_queue_url
from streamlake_fast.transports.retry import Retry
from streamlake_fast.transports.sending import resend

__all__ = ["SqsSource"]

log = logging.getLogger(__name__)

#: Deletes and visibility changes: a few quick retries (a lost delete only means a redelivery).
SETTLE_RETRY = Retry(initial=0.1, maximum=5.0, attempts=8)
#: Delete and visibility requests in flight at once.
SETTLE_CONCURRENCY = 8


#: The defaults: those of ``streamlake run``'s ``[sqs]`` section, one set whatever builds the source.
_DEFAULTS = SqsConfig()


class SqsSource(PollingSource):
    """Receive from the queue at ``queue_url``.

    :param concurrent_receives: ``ReceiveMessage`` calls in flight (each returns at most ten messages).
    :param wait_time: long-polling seconds per call (0 to 20); an empty queue answers after this long.
    :param visibility_timeout: seconds a received message stays invisible; extended by as much while it waits.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        client: SqsClient | None = None,
        concurrent_receives: int = _DEFAULTS.concurrent_receives,
        wait_time: int = _DEFAULTS.wait_time,
        visibility_timeout: int = _DEFAULTS.visibility_timeout,
        max_outstanding_messages: int = _DEFAULTS.max_outstanding_messages,
        max_outstanding_bytes: int = _DEFAULTS.max_outstanding_bytes,
        max_lease: float = _DEFAULTS.max_lease,
    ) -> None:
        if not 0 <= wait_time <= 20:
            raise ConfigError(f"wait_time must be within 0 to 20 s (SQS's long-polling limit), got {wait_time}")
        if not 1 <= visibility_timeout <= 43_200:
            raise ConfigError(f"visibility_timeout must be within 1 to 43,200 s, got {visibility_timeout}")
        super().__init__(check_queue_url(queue_url), concurrent=concurrent_receives,
                         max_outstanding_messages=max_outstanding_messages,
                         max_outstanding_bytes=max_outstanding_bytes, first_lease=float(visibility_timeout),
                         lease_seconds=visibility_timeout, max_lease=max_lease)  # fmt: skip
        self.client = client or SqsClient()
        self._drained_at = 0.0
        self._quiet_readings = 0  # consecutive readings of the queue's counts, all 0, with every receive empty
        self._quiet_since = 0  # ... and no batch received since the first (``deliveries`` then)
        self.refused = 0  # deletes SQS refused for good (the receipt handle had expired): may come back
        self._settlers = ThreadPoolExecutor(SETTLE_CONCURRENCY, thread_name_prefix="sqs-settle")
        self._request = json.dumps({
            "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait_time,
            "VisibilityTimeout": visibility_timeout, "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["SentTimestamp", "ApproximateReceiveCount", "MessageGroupId"],
        }).encode()  # fmt: skip

    def _receive_once(self) -> Messages | None:
        try:
            body = SQS_RETRY.call(partial(self.client.call, "ReceiveMessage", self._request), retryable=is_retryable,
                                  what=f"receive from {self.name}", abort=self._stop)  # fmt: skip
        except (AwsError, ConnectionError) as e:
            if self._stop.is_set():
                return None
            raise SourceError(f"receiving from {self.name} failed: {e}") from e
        return Messages.from_sqs([body])

    def drained(self) -> bool:
        """True when the receives came back empty and the queue has twice in a row, a second or more apart, said
        it holds nothing, not even invisible messages (a killed worker's, until their visibility timeout lapses;
        this worker's own, until they are deleted): SQS's counts are approximate, and one reading taken as a send
        or a visibility change lands can say 0 with messages left."""
        if not super().drained() or self.deliveries != self._quiet_since:
            self._quiet_readings, self._quiet_since = 0, self.deliveries
            return False
        now = time.monotonic()
        if now - self._drained_at >= 1.0:
            self._drained_at = now
            self._quiet_readings = self._quiet_readings + 1 if self._holds_nothing() else 0
        return self._quiet_readings >= 2

    def _holds_nothing(self) -> bool:
        counts = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                  "ApproximateNumberOfMessagesDelayed")  # fmt: skip
        try:
            request = {"QueueUrl": self.name, "AttributeNames": list(counts)}
            answer = self.client.call_json("GetQueueAttributes", request)
        except (AwsError, ConnectionError) as e:
            log.warning("%s: could not read the queue's counts: %s", self.name, e)
            return False
        attributes = answer.get("Attributes", {})
        return all(c in attributes and int(attributes[c]) == 0 for c in counts)

    def _acknowledge(self, messages: Messages) -> None:
        self._batch(messages, "DeleteMessageBatch", None)

    def _change_lease(self, messages: Messages, seconds: int) -> None:
        self._batch(messages, "ChangeMessageVisibilityBatch", seconds)

    def _batch(self, messages: Messages, action: str, visibility: int | None) -> None:
        """Send ``action`` for every message; entries failed for a transient reason are sent again (:func:`resend`),
        those refused for good (an expired receipt handle: the message will be delivered again) are counted."""
        send_one = partial(SETTLE_RETRY.call, retryable=is_retryable, what=action)

        def send(indices: Sequence[int]) -> list[int]:
            calls = [partial(self.client.call, action, request)
                     for request in batch_requests(messages, self.name, visibility, list(indices))]  # fmt: skip
            again: list[int] = []
            for body in self._settlers.map(send_one, calls) if len(calls) > 1 else map(send_one, calls):
                _, failed = batch_failures(body)
                for f in failed:  # entry ids count up across the requests: positions in ``indices``
                    if f.sender_fault:
                        self.refused += 1
                        log.warning("%s: %s refused an entry (%s: %s)", self.name, action, f.code, f.message)
                    else:
                        again.append(f.index)
            return again

        if left := resend(range(len(messages)), send):
            log.warning("%s: %d entries of %s still failing; their messages may come back", self.name, len(left),
                        action)  # fmt: skip
