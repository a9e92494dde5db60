"""Acknowledgements on Pub/Sub, including the per-ack-id results of exactly-once delivery subscriptions.

On a subscription with exactly-once delivery an ``Acknowledge`` can fail for some ack ids and succeed for the
rest: the error carries a ``google.rpc.ErrorInfo`` whose metadata maps each failed ack id to
``TRANSIENT_FAILURE_…`` (send it again) or ``PERMANENT_FAILURE_…`` (e.g. ``PERMANENT_FAILURE_INVALID_ACK_ID``: the
lease had lapsed; the message will be redelivered and, being durable already, written again — a possible
duplicate, counted). Ack ids the metadata does not name were acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from streamlake_fast.codec.messages import Messages
from streamlake_fast.extras import needs_extra
from streamlake_fast.transports.gcp.channels import is_retryable
from streamlake_fast.transports.gcp.wire import ack_ids, acknowledge_requests
from streamlake_fast.transports.retry import Retry
from streamlake_fast.transports.sending import resend

with needs_extra():  # the gcp extra
    import grpc
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status  # type: ignore[import-untyped]

__all__ = ["AckResults", "ack_id_failures", "acknowledge"]

log = logging.getLogger(__name__)

#: Acknowledge / ModifyAckDeadline: a few quick retries (a lost ack only means a redelivery).
SETTLE_RETRY = Retry(initial=0.1, maximum=5.0, attempts=8)
#: Rounds of re-sending the ack ids an exactly-once subscription answered TRANSIENT_FAILURE for.
TRANSIENT_ROUNDS = 5


@dataclass
class AckResults:
    """What became of acknowledgements sent (counts of messages)."""

    refused: int = 0  # refused for good (exactly-once): each may come back and be written again


def ack_id_failures(error: grpc.RpcError) -> dict[str, str] | None:
    """The per-ack-id failures an exactly-once subscription reports in ``error`` (ack id → reason), or None when
    the error carries none (an ordinary failure of the whole request)."""
    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError):
        return None
    if status is None:
        return None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and detail.Unpack(info):
            return dict(info.metadata)
    return None


def acknowledge(
    rpc: Callable[..., object], messages: Messages, subscription: str, results: AckResults, *, timeout: float = 30
) -> None:
    """Acknowledge ``messages``: each request retried while the failure is transient; on an exactly-once
    subscription only the ack ids reported as transient failures are sent again, and those refused for good are
    counted in ``results``. Raises the last error when a whole request keeps failing."""
    ids: list[str] = []

    def send(indices: Sequence[int]) -> list[int]:
        whole = len(indices) == len(messages)
        again: list[int] = []
        for request in acknowledge_requests(messages, subscription, None if whole else list(indices)):
            try:
                SETTLE_RETRY.call(partial(rpc, request, timeout=timeout), retryable=is_retryable, what="acknowledge")
            except grpc.RpcError as e:
                failures = ack_id_failures(e)
                if failures is None:
                    raise
                ids[:] = ids or ack_ids(messages)
                transient = {a for a, why in failures.items() if why.startswith("TRANSIENT_")}
                if refused := len(failures) - len(transient):
                    results.refused += refused
                    reasons = ", ".join(sorted({why for why in failures.values() if not why.startswith("TRANSIENT_")}))
                    log.warning("%d acknowledgements refused for good (%s): those messages may be delivered again",
                                refused, reasons)  # fmt: skip
                again += [k for k, i in enumerate(indices) if ids[i] in transient]
        return sorted(set(again))

    if left := resend(range(len(messages)), send, rounds=TRANSIENT_ROUNDS):
        results.refused += len(left)
        log.warning("%d acknowledgements still failing after %d rounds: those messages may be delivered again",
                    len(left), TRANSIENT_ROUNDS)  # fmt: skip
