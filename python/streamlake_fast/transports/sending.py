"""What every sender shares, whatever the transport: one result shape per request, the whole-batch total, the
resending of entries that failed for a transient reason, and the caller's abort.

A sender (Pub/Sub's :class:`~streamlake_fast.transports.gcp.sender.RequestSender`, SQS's
:class:`~streamlake_fast.transports.aws.sender.QueueSender`) sends requests built in Rust, several in flight, and
answers each with :class:`Sent` — the entries the service accepted and those it refused for good, by entry id —
or the :class:`~streamlake_fast.exceptions.PublishError` it failed with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from streamlake_fast.exceptions import PublishError

__all__ = ["ENTRY_ROUNDS", "Outcome", "Sender", "Sent", "resend", "send_all"]

T = TypeVar("T")

#: Rounds of sending again the entries a service failed for a transient reason.
ENTRY_ROUNDS = 5


@dataclass(frozen=True)
class Sent:
    """One request's result: ``accepted`` entries, and those ``refused`` for good as ``(entry id, why)``."""

    accepted: int
    refused: list[tuple[int, str]] = field(default_factory=list)


Outcome = Sent | PublishError


class Sender(Protocol):
    """Sends serialized requests to one destination (a topic, a queue)."""

    name: str

    def send_each(
        self, requests: Sequence[bytes], counts: Sequence[int], *, abort: threading.Event | None = None
    ) -> list[Outcome]:
        """Send every request (``counts[i]`` entries in ``requests[i]``); each one's :class:`Sent` or why it
        failed. A set ``abort`` ends the retries of every call (the calls still failing then fail)."""
        ...

    def close(self) -> None: ...


def send_all(
    sender: Sender, requests: Sequence[bytes], counts: Sequence[int], *, abort: threading.Event | None = None
) -> Sent:
    """Send every request: the entries accepted and refused, in all; raises :class:`PublishError` (with the
    entries known to have gone out as ``published``) when any request failed."""
    outcomes = sender.send_each(requests, counts, abort=abort)
    errors = [o for o in outcomes if isinstance(o, PublishError)]
    sent = [o for o in outcomes if isinstance(o, Sent)]
    accepted = sum(s.accepted for s in sent)
    if errors:
        raise PublishError(f"{sender.name}: {len(errors)} of {len(outcomes)} requests failed: {errors[0]}",
                           accepted, retryable=all(e.retryable for e in errors),
                           maybe_published=any(e.maybe_published for e in errors))  # fmt: skip
    return Sent(accepted, [r for s in sent for r in s.refused])


def resend(items: Sequence[T], send: Callable[[Sequence[T]], Sequence[int]], *, rounds: int = ENTRY_ROUNDS) -> list[T]:
    """Send ``items``; ``send`` returns the positions (in what it was given) of those that failed for a transient
    reason, which are sent again, ``rounds`` times at most. Returns the items still failing (empty: all went)."""
    pending = list(items)
    for _ in range(rounds):
        if not pending:
            break
        pending = [pending[i] for i in send(pending)]
    return pending
