"""Sending ``SendMessageBatch`` bodies (built in Rust) to an SQS queue: several in flight, transient failures retried
with the one retry policy, entries SQS fails for a transient reason sent again, entries it refuses reported as
rejects with their input line. Used by the edge :class:`~streamlake_fast.edge.publisher.Publisher` on SQS."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from streamlake_fast.exceptions import PublishError, outcomes
from streamlake_fast.transports.aws.client import SQS_RETRY, AwsError, SqsClient, is_retryable
from streamlake_fast.transports.aws.wire import batch_failures
from streamlake_fast.transports.names import check_queue_url
from streamlake_fast.transports.retry import Retry
from streamlake_fast.transports.sending import ENTRY_ROUNDS, Outcome, Sent, resend

__all__ = ["QueueSender"]

#: Errors by which SQS refuses a whole batch for the content of some entry: the entries are then sent one by one,
#: so that only the offending ones are refused.
_ENTRY_CONTENT_ERRORS = frozenset({"InvalidParameterValue", "InvalidMessageContents", "BatchRequestTooLong"})


class QueueSender:
    """Send ``SendMessageBatch`` bodies to the queue at ``queue_url``, ``max_in_flight`` at once (a
    :class:`Sender`); ``retry``, ``timeout`` (seconds per call) and the caller's abort bound how long an
    unavailable SQS is waited for."""

    def __init__(self, queue_url: str, *, max_in_flight: int = 8, client: SqsClient | None = None,
                 retry: Retry = SQS_RETRY, timeout: float = 60.0) -> None:  # fmt: skip
        self.queue_url = check_queue_url(queue_url)
        self.name = f"sqs:{queue_url}"
        self.client = client or SqsClient(max_connections=max_in_flight, timeout=timeout)
        self._retry = retry
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="sqs-send")

    def send_each(
        self, requests: Sequence[bytes], counts: Sequence[int], *, abort: threading.Event | None = None
    ) -> list[Outcome]:
        """Send every request, several at once; for each, its entries accepted and refused (by entry id), or the
        :class:`PublishError` it failed with."""
        return outcomes([self._pool.submit(self._send, r, n, abort) for r, n in zip(requests, counts, strict=True)])

    def _send(self, request: bytes, count: int, abort: threading.Event | None) -> Sent:
        """One request of ``count`` entries, its transiently failed entries sent again (:func:`resend`); a request
        SQS refuses whole for one entry's content is sent entry by entry, so only that entry is refused. The
        request is read back (JSON) only when something failed: a call that succeeds costs no parse."""
        accepted, refused, first = 0, [], True
        parsed: list[dict[str, Any]] = []

        def entries() -> list[dict[str, Any]]:
            if not parsed:
                parsed.extend(json.loads(request)["Entries"])
            return parsed

        def send(positions: Sequence[int]) -> list[int]:
            """Send the entries at ``positions``; those of them failed for a transient reason (as indices into
            ``positions``)."""
            nonlocal accepted, first
            again = {"QueueUrl": self.queue_url, "Entries": [entries()[p] for p in positions]} if not first else None
            body = request if again is None else json.dumps(again).encode()
            first = False
            try:
                answer = self._retry.call(partial(self.client.call, "SendMessageBatch", body), retryable=is_retryable,
                                          what=f"send to {self.queue_url}", abort=abort)  # fmt: skip
            except AwsError as e:
                if e.code not in _ENTRY_CONTENT_ERRORS:
                    raise PublishError(f"send to {self.queue_url} failed: {e}", accepted, retryable=e.retryable) from e
                if len(positions) == 1:
                    refused.append((int(entries()[positions[0]]["Id"]), f"SQS refused it ({e.code}): {e}"))
                    return []
                return [k for k, p in enumerate(positions) if send([p])]  # the entry at fault: one by one
            except ConnectionError as e:  # SQS answered nothing: it may have queued the call unless never reached
                sent = "refused" not in str(e).lower()
                raise PublishError(f"send to {self.queue_url} failed: {e}", accepted, maybe_published=sent) from e
            ok, failed = batch_failures(answer)
            accepted += ok
            if not failed:
                return []
            at = {entries()[p]["Id"]: k for k, p in enumerate(positions)}
            refused.extend((f.index, f"SQS refused it ({f.code}): {f.message}") for f in failed if f.sender_fault)
            return [at[str(f.index)] for f in failed if not f.sender_fault]

        if resend(range(count), send):
            raise PublishError(f"send to {self.queue_url}: entries still failing after {ENTRY_ROUNDS} rounds", accepted)
        return Sent(accepted, refused)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
