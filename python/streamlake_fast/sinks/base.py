"""The sink interface.

A sink may make rows durable at once (BigQuery appends) or later (the lake buffers rows into files that become
visible when they roll). The worker learns which batches are durable from :attr:`Sink.durable_batches` and
acknowledges a message only when every sink holding its row says so.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import pyarrow as pa

from streamlake_fast.exceptions import SinkError, TransientSinkError

__all__ = ["Sink", "SinkError", "TransientSinkError", "retry", "retry_write"]

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Writes Arrow batches, in order.

    Errors: :class:`TransientSinkError` for failures worth retrying (the worker retries the same call),
    :class:`SinkError` for the rest (the worker hands every unacknowledged message back and stops).
    """

    name: str
    #: The columns this sink wants, by name, from the decoded event columns and the Pub/Sub metadata columns
    #: (``subscription_name``, ``message_id``, ``publish_time``, ``attributes``); None: the event columns as decoded.
    schema: pa.Schema | None
    rows_written: int

    def write(self, batch: pa.RecordBatch) -> None:
        """Accept the rows of the next batch (durable now, or once :attr:`durable_batches` counts it)."""

    @property
    def durable_batches(self) -> int:
        """How many of the batches written so far are durable: always the first ones, in write order."""
        ...

    def poll(self) -> None:
        """Make durable what is due (e.g. files past their age limit); called often, also when idle."""

    def flush(self) -> None:
        """Make everything written durable now."""

    def close(self) -> None:
        """Release resources; rows not flushed are not durable (their messages were not acknowledged)."""


def retry_write(sink: Any, batch: pa.RecordBatch, abort: Any, on_wait: Any = None, max_backoff: float = 30.0) -> None:
    """Write with exponential backoff on transient errors until it succeeds or ``abort`` is set (then raise)."""
    retry(lambda: sink.write(batch), sink.name, abort, on_wait, max_backoff)


def retry(call: Any, name: str, abort: Any, on_wait: Any = None, max_backoff: float = 30.0) -> None:
    """Call ``call()`` with exponential backoff on transient errors until it succeeds or ``abort`` is set."""
    delay = 0.5
    while True:
        try:
            call()
            return
        except TransientSinkError as e:
            if abort.is_set():
                raise
            log.warning("%s unavailable (%s); retrying in %.1fs", name, e, delay)
            if on_wait is not None:
                on_wait()
            abort.wait(delay)
            delay = min(delay * 2, max_backoff)
