"""The ack ledger: written batches wait here until every sink holds them durably, then their deliveries are
acknowledged — in write order, each exactly once."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from streamlake_fast.sources.delivery import Delivery, ack_all, nack_quietly

__all__ = ["AckLedger"]

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    seq: int
    deliveries: Sequence[Delivery]
    messages: int
    size_bytes: int


class AckLedger:
    """Batch ``seq`` (0, 1, 2, ... in write order) is acknowledged once the durability watermark passes it."""

    def __init__(self) -> None:
        self._pending: deque[_Entry] = deque()
        self.next_seq = 0
        self.held_messages = 0
        self.held_bytes = 0
        self.ack_failures = 0  # messages durable whose acknowledgement failed: they may come back (duplicates)

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, deliveries: Sequence[Delivery]) -> int:
        """Record a written batch; returns its sequence number."""
        messages = sum(len(d) for d in deliveries)
        nbytes = sum(d.size_bytes for d in deliveries)
        self._pending.append(_Entry(self.next_seq, deliveries, messages, nbytes))
        self.held_messages += messages
        self.held_bytes += nbytes
        self.next_seq += 1
        return self.next_seq - 1

    def settle(self, durable: int) -> int:
        """Acknowledge every batch before ``durable`` (the least ``durable_batches`` over the sinks); returns the
        messages acknowledged."""
        acked = 0
        while self._pending and self._pending[0].seq < durable:
            entry = self._pop()
            try:
                ack_all(entry.deliveries)
            except RuntimeError:  # settled twice: a bug, not a transport failure
                raise
            except Exception as e:  # durable already: a lost ack only means a redelivery (a duplicate)
                log.warning("acknowledge failed (%s); %d messages will be redelivered", e, entry.messages)
                self.ack_failures += entry.messages
            acked += entry.messages
        return acked

    def nack_all(self) -> int:
        """Hand back every batch still waiting (a sink failed for good, or the worker stops); returns the
        messages handed back. A failed nack only delays the redelivery until the lease lapses."""
        handed = 0
        while self._pending:
            entry = self._pop()
            nack_quietly(entry.deliveries)
            handed += entry.messages
        return handed

    def _pop(self) -> _Entry:
        entry = self._pending.popleft()
        self.held_messages -= entry.messages
        self.held_bytes -= entry.size_bytes
        return entry
