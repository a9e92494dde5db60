"""The seam between a source and the worker.

A :class:`Delivery` is what a source hands the worker: one or more received messages and the means to settle
them. The worker decodes and writes them, then calls exactly one of :meth:`Delivery.ack` (every sink holds them
durably) or :meth:`Delivery.nack` (hand them back for redelivery). Each source settles in its own way:

- Pub/Sub pull: ``Acknowledge`` / ``ModifyAckDeadline(0)`` with the ack ids of the response bytes;
- a queue (SQS): ``DeleteMessageBatch`` / visibility 0;
- a push endpoint: the HTTP response (2xx or not);
- a Beam ``DoFn``: nothing (the runner checkpoints).

Sources also own their leases (:meth:`Delivery.extend`, e.g. from a lease thread) and their flow control
(released by :meth:`Delivery.release`, which ``ack`` and ``nack`` call).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from streamlake_fast.codec.messages import Messages

__all__ = ["Delivery", "Settler", "ack_all", "nack_all", "nack_quietly"]

log = logging.getLogger(__name__)


class Settler(Protocol):
    """What a source implements so that its deliveries can be settled; each call gets one or more deliveries of
    that source (so that, e.g., one Acknowledge request covers a whole written batch)."""

    def ack(self, deliveries: Sequence[Delivery]) -> None: ...
    def nack(self, deliveries: Sequence[Delivery]) -> None: ...
    def extend(self, deliveries: Sequence[Delivery], seconds: float) -> None: ...
    def release(self, deliveries: Sequence[Delivery]) -> None: ...


class Delivery:
    """Received :attr:`messages` that count as handled only once :meth:`ack` returns.

    Settling twice (ack after ack, nack after ack, ...) raises ``RuntimeError``: it would be a bug in the caller.
    """

    __slots__ = (
        "_count", "_released", "_settled", "_settler", "content_bytes", "data_bytes", "events", "messages", "size_bytes"
    )  # fmt: skip

    def __init__(self, messages: Messages, settler: Settler) -> None:
        self.messages = messages
        self._settler = settler
        self._settled = ""
        self._released = False
        # Read once (each is a pass over the messages): flow control, the batcher and the ledger ask for them.
        self._count = len(messages)
        self.size_bytes = messages.size_bytes  # as received: what flow control counts
        self.data_bytes = messages.data_bytes  # the data alone, as received: what SQS bills
        # Events and their bytes once envelopes are opened: what the batch limits count.
        self.events, self.content_bytes = messages.contents

    def __len__(self) -> int:
        return self._count

    @property
    def settled(self) -> str:
        """``""`` while open, then ``"ack"`` or ``"nack"``."""
        return self._settled

    def ack(self) -> None:
        """Acknowledge every message: each is durable in every sink (or its dead letter is). Then :meth:`release`."""
        ack_all([self])

    def nack(self) -> None:
        """Hand every message back for redelivery now. Then :meth:`release`."""
        nack_all([self])

    def extend(self, seconds: float) -> None:
        """Keep the messages leased (invisible to other consumers) for ``seconds`` more."""
        self._settler.extend([self], seconds)

    def release(self) -> None:
        """Stop tracking the messages: free their flow-control share and stop extending their lease (idempotent;
        without an ack or nack the lease lapses and the messages are redelivered)."""
        if not self._released:
            self._released = True
            self._settler.release([self])

    def __repr__(self) -> str:
        return f"<Delivery: {len(self)} messages{', ' + self._settled if self._settled else ''}>"


def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Acknowledge several deliveries with one call per source."""
    _settle(deliveries, "ack")


def nack_all(deliveries: Sequence[Delivery]) -> None:
    """Hand several deliveries back with one call per source."""
    _settle(deliveries, "nack")


def _settle(deliveries: Sequence[Delivery], how: str) -> None:
    for d in deliveries:
        if d._settled:
            raise RuntimeError(f"delivery of {len(d)} messages already settled ({d._settled}); cannot {how}")
    by_source: dict[int, list[Delivery]] = {}
    for d in deliveries:
        d._settled = how
        by_source.setdefault(id(d._settler), []).append(d)
    errors: list[Exception] = []
    for group in by_source.values():
        settler = group[0]._settler
        try:
            (settler.ack if how == "ack" else settler.nack)(group)
        except Exception as e:  # settle the other sources' deliveries all the same
            errors.append(e)
    for group in by_source.values():  # one release per source, not per delivery
        unreleased = [d for d in group if not d._released]
        for d in unreleased:
            d._released = True
        if unreleased:
            unreleased[0]._settler.release(unreleased)
    if errors:
        raise errors[0]


def nack_quietly(deliveries: Sequence[Delivery]) -> None:
    """Nack; if that fails, the leases lapse and the messages come back anyway."""
    try:
        nack_all(deliveries)
    except Exception as e:
        log.warning("nack failed (%s); the messages return when their lease lapses", e)
