"""The source interface: :class:`~streamlake_fast.sources.delivery.Delivery` s of received messages, settled by the
caller; each source owns its flow control and its leases."""

from __future__ import annotations

from typing import Protocol

from streamlake_fast.sources.delivery import Delivery
from streamlake_fast.sources.flow import FlowControl

__all__ = ["Source"]


class Source(Protocol):
    """Hands out deliveries; a message counts as handled only once its delivery is acknowledged."""

    #: Where the messages come from (a subscription, a queue); the ``subscription_name`` metadata column.
    name: str
    #: Receiving pauses while this much is delivered and not yet released.
    flow_control: FlowControl

    def start(self) -> None:
        """Start receiving (in the background)."""

    def get(self, timeout: float) -> Delivery | None:
        """The next delivery, or ``None`` after ``timeout`` seconds; raises
        :class:`~streamlake_fast.exceptions.SourceError` when the source cannot receive any more."""

    def drained(self) -> bool:
        """True when nothing more is waiting upstream and nothing is queued here."""

    def stop(self) -> None:
        """Stop receiving; deliveries already received stay available from :meth:`get`."""
