"""Pub/Sub pull without a Python object per message.

Several unary ``Pull`` calls run in flight on background threads; each response stays the serialized bytes it
arrived as (:class:`~streamlake_fast.codec.messages.Messages`) and becomes one
:class:`~streamlake_fast.sources.delivery.Delivery`. Acknowledgements and deadline changes are built in Rust from
the ack ids in those bytes. Flow control and leases: :class:`~streamlake_fast.sources.polling.PollingSource`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from streamlake_fast.codec.messages import Messages
from streamlake_fast.config import PubSubConfig
from streamlake_fast.exceptions import SourceError
from streamlake_fast.extras import needs_extra
from streamlake_fast.sources.polling import PollingSource
from streamlake_fast.transports.gcp.acks import SETTLE_RETRY, AckResults, acknowledge
from streamlake_fast.transports.gcp.channels import is_retryable, pubsub_channel
from streamlake_fast.transports.gcp.wire import modify_deadline_requests, pull_request
from streamlake_fast.transports.names import check_subscription
from streamlake_fast.transports.retry import Retry

with needs_extra():  # the gcp extra
    import grpc

__all__ = ["PubSubSource"]

#: Pull: retried until the source stops.
PULL_RETRY = Retry(initial=0.1, maximum=10.0)
#: A received message's lease lasts at least this long (Pub/Sub's smallest subscription ack deadline).
MIN_ACK_DEADLINE = 10.0


#: The defaults: those of ``streamlake run``'s ``[pubsub]`` section, one set whatever builds the source.
_DEFAULTS = PubSubConfig()


class PubSubSource(PollingSource):
    """Pull from ``projects/P/subscriptions/S``.

    :param max_messages: messages asked for per ``Pull`` (the emulator returns at most 100).
    :param concurrent_pulls: ``Pull`` calls in flight at once.
    :param max_outstanding_messages: stop pulling while this many messages are delivered and not released.
    :param max_outstanding_bytes: the same, in bytes of the messages as received (data, attributes, ids).
    :param ack_deadline: seconds each lease extension asks for. A delivery's lease is extended when less than
        5 s of it is left (the first lease lasts at least Pub/Sub's minimum of 10 s), until it is settled.
    :param max_lease: seconds after which a delivery still not settled is handed back (nacked) instead of being
        leased forever.
    """

    def __init__(
        self,
        subscription: str,
        *,
        max_messages: int = _DEFAULTS.max_messages,
        concurrent_pulls: int = _DEFAULTS.concurrent_pulls,
        max_outstanding_messages: int = _DEFAULTS.max_outstanding_messages,
        max_outstanding_bytes: int = _DEFAULTS.max_outstanding_bytes,
        ack_deadline: int = _DEFAULTS.ack_deadline,
        max_lease: float = _DEFAULTS.max_lease,
        pull_timeout: float = 5.0,
        channel: grpc.Channel | None = None,
    ) -> None:
        super().__init__(check_subscription(subscription), concurrent=concurrent_pulls,
                         max_outstanding_messages=max_outstanding_messages,
                         max_outstanding_bytes=max_outstanding_bytes, first_lease=MIN_ACK_DEADLINE,
                         lease_seconds=ack_deadline, max_lease=max_lease)  # fmt: skip
        self.ack_deadline = ack_deadline
        self._channel = channel or pubsub_channel()
        ident: Any = None
        self._pull = self._channel.unary_unary("/google.pubsub.v1.Subscriber/Pull", ident, ident)
        self._ack = self._channel.unary_unary("/google.pubsub.v1.Subscriber/Acknowledge", ident, ident)
        self._modack = self._channel.unary_unary("/google.pubsub.v1.Subscriber/ModifyAckDeadline", ident, ident)
        self.ack_results = AckResults()  # acknowledgements an exactly-once subscription refused
        self._request = pull_request(subscription, max_messages)
        self._timeout = pull_timeout

    def _receive_once(self) -> Messages | None:
        def pull() -> bytes | None:
            try:
                # A blocking call: gRPC futures on a sync channel add a polling thread that costs CPU per call.
                response: bytes = self._pull(self._request, timeout=self._timeout)
                return response
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return None  # nothing arrived within the pull timeout
                raise

        try:
            raw = PULL_RETRY.call(pull, retryable=is_retryable, what=f"pull {self.name}", abort=self._stop)
        except grpc.RpcError as e:
            if self._stop.is_set():
                return None
            raise SourceError(f"pull from {self.name} failed: {e.code().name}: {e.details()}") from e
        return None if raw is None else Messages.from_pubsub([raw])

    def _acknowledge(self, messages: Messages) -> None:
        acknowledge(self._ack, messages, self.name, self.ack_results)

    def _change_lease(self, messages: Messages, seconds: int) -> None:
        what = "nack" if seconds == 0 else "modify ack deadline"
        for req in modify_deadline_requests(messages, self.name, seconds):
            SETTLE_RETRY.call(partial(self._modack, req, timeout=30), retryable=is_retryable, what=what)
