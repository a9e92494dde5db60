"""Sending ``SendMessageBatch`` bodies (built in Rust) to an SQS queue: several in flight, transient failures retried
with the one retry policy, entries SQS fails for a transient reason sent again, entries it refuses reported as
rejects with their input line. Used by the edge :class:`~streamlake_fast.edge.publisher.Publisher` on SQS."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from streamlake_fast.codec.codec import Reject
from streamlake_fast.exceptions import PublishError, outcomes
from streamlake_fast.transports.aws.client import SQS_RETRY, AwsError, SqsClient, is_retryable
from streamlake_fast.transports.aws.wire import batch_failures
from streamlake_fast.transports.names import check_queue_url
from streamlake_fast.transports.retry import Retry

__all__ = ["QueueSender"]

#: Rounds of sending again the entries SQS failed for a transient reason.
ENTRY_ROUNDS = 5
#: Errors by which SQS refuses a whole batch for the content of some entry: the entries are then sent one by one,
#: so that only the offending ones are refused.
_ENTRY_CONTENT_ERRORS = frozenset({"InvalidParameterValue", "InvalidMessageContents", "BatchRequestTooLong"})


class QueueSender:
    """Send ``SendMessageBatch`` bodies to the queue at ``queue_url``, ``max_in_flight`` at once; ``retry`` and
    ``timeout`` (seconds per call) bound how long an unavailable SQS is waited for."""

    def __init__(self, queue_url: str, *, max_in_flight: int = 8, client: SqsClient | None = None,
                 retry: Retry = SQS_RETRY, timeout: float = 60.0) -> None:  # fmt: skip
        self.queue_url = check_queue_url(queue_url)
        self.client = client or SqsClient(max_connections=max_in_flight, timeout=timeout)
        self._retry = retry
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="sqs-send")

    def send_all(self, requests: list[bytes], counts: list[int], valid: list[int]) -> tuple[int, list[Reject]]:
        """Send every request; returns the events SQS accepted and those it refused (as rejects naming the input
        index ``valid[entry id]``). Raises :class:`PublishError` when a call fails for good."""
        published, refused, errors = 0, [], []
        for outcome in self.send_each(requests):
            if isinstance(outcome, PublishError):
                errors.append(outcome)
                continue
            ok, bad = outcome
            published += ok
            refused += [Reject(valid[i], "refused_by_sink", "", message) for i, message in bad]
        if errors:
            raise PublishError(f"{len(errors)} of {len(requests)} SendMessageBatch calls failed: {errors[0]}",
                               published, retryable=all(e.retryable for e in errors))  # fmt: skip
        return published, sorted(refused, key=lambda r: r.index)

    def send_each(self, requests: list[bytes]) -> list[tuple[int, list[tuple[int, str]]] | PublishError]:
        """Send every request, several at once; for each, (entries accepted, [(entry id, why)] refused) or the
        :class:`PublishError` it failed with."""
        return outcomes([self._pool.submit(self._send, r) for r in requests])

    def _send(self, request: bytes) -> tuple[int, list[tuple[int, str]]]:
        """One request, its transiently failed entries sent again: (accepted, [(entry id, reason)] refused)."""
        published = 0
        refused: list[tuple[int, str]] = []
        for _ in range(ENTRY_ROUNDS):
            try:
                call = partial(self.client.call, "SendMessageBatch", request)
                answer = self._retry.call(call, retryable=is_retryable, what=f"send to {self.queue_url}")
            except AwsError as e:
                entries = json.loads(request)["Entries"]
                if e.code not in _ENTRY_CONTENT_ERRORS or len(entries) == 1:
                    if len(entries) == 1 and e.code in _ENTRY_CONTENT_ERRORS:
                        return published, [*refused, (int(entries[0]["Id"]), f"SQS refused it ({e.code}): {e}")]
                    raise PublishError(f"send to {self.queue_url} failed: {e}", published,
                                       retryable=e.retryable) from e  # fmt: skip
                for entry in entries:  # find the entry at fault: one by one
                    ok, bad = self._send(json.dumps({"QueueUrl": self.queue_url, "Entries": [entry]}).encode())
                    published += ok
                    refused += bad
                return published, refused
            except ConnectionError as e:  # SQS answered nothing: it may have queued the call unless never reached
                sent = "refused" not in str(e).lower()
                raise PublishError(f"send to {self.queue_url} failed: {e}", published, maybe_published=sent) from e
            ok, failed = batch_failures(answer)
            published += ok
            refused += [(f.index, f"SQS refused it ({f.code}): {f.message}") for f in failed if f.sender_fault]
            again = {str(f.index) for f in failed if not f.sender_fault}
            if not again:
                return published, refused
            doc = json.loads(request)  # the failure path only: resend just those entries, ids unchanged
            doc["Entries"] = [e for e in doc["Entries"] if e["Id"] in again]
            request = json.dumps(doc).encode()
        raise PublishError(f"send to {self.queue_url}: entries still failing after {ENTRY_ROUNDS} rounds", published)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
