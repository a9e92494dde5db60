"""The sink interface.

A sink may make rows durable at once (BigQuery appends, dead letters) or later (the lake buffers rows into files
that become visible when they roll). The worker learns which batches are durable from :attr:`Sink.durable_batches`
and acknowledges a message only when every sink says so.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

from streamlake_fast.exceptions import ConfigError

__all__ = ["Abortable", "FollowsSchema", "Refusal", "Sink", "WriteIsDurable", "select_columns"]


def select_columns(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The columns ``schema`` names, taken from ``batch`` (event and metadata columns) by name."""
    missing = [n for n in schema.names if n not in batch.schema.names]
    if missing:
        raise ConfigError(f"the batch has no column {', '.join(map(repr, missing))} (it has {batch.schema.names})")
    return pa.RecordBatch.from_arrays([batch.column(n) for n in schema.names], schema=schema)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A row a sink would not take (the rest of the batch was written): it goes to the dead-letter destination
    with ``code`` (e.g. ``row_too_large``, ``refused_by_sink``) and the sink's ``message``."""

    row: int  # index in the batch given to :meth:`Sink.write`
    code: str
    message: str


class Sink(Protocol):
    """Writes Arrow batches, in order.

    Errors: :class:`~streamlake_fast.exceptions.TransientSinkError` for failures worth retrying (the worker
    retries the same call), :class:`~streamlake_fast.exceptions.SinkError` for the rest (the worker hands every
    unacknowledged message back and stops).
    """

    name: str
    #: The columns this sink wants, by name: event fields and metadata columns
    #: (:data:`~streamlake_fast.codec.messages.METADATA_SCHEMA`); None: the event columns as decoded.
    schema: pa.Schema | None

    @property
    def rows_written(self) -> int:
        """Rows accepted by :meth:`write` (the dead-letter records, for a dead-letter destination)."""
        ...

    def write(self, batch: pa.RecordBatch) -> Sequence[Refusal] | None:
        """Accept the rows of the next batch (durable now, or once :attr:`durable_batches` counts it); rows the
        sink refuses for good, if any, are returned (the worker dead-letters them)."""

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


@runtime_checkable
class FollowsSchema(Protocol):
    """A sink whose columns follow the table's schema while the worker runs (new columns, relaxed modes)."""

    def follow_schema(self, events: pa.Schema, table: pa.Schema) -> None:
        """From the next write on, batches have the columns ``events`` (the event columns) of the table whose
        columns are now ``table`` (metadata columns included)."""


@runtime_checkable
class Abortable(Protocol):
    """A sink whose writes retry a service on their own (the dead-letter topic and queue): the fan-out hands it the
    worker's abort, and a retry stops once it is set instead of holding the stop until the watchdog's deadline."""

    def abort_on(self, abort: threading.Event) -> None: ...


class WriteIsDurable:
    """For sinks whose :meth:`write` returns only once the rows are durable: call :meth:`_written` after each."""

    batches_written = 0

    def _written(self) -> None:
        self.batches_written += 1

    @property
    def durable_batches(self) -> int:
        return self.batches_written

    def poll(self) -> None:
        """Nothing is buffered."""

    def flush(self) -> None:
        """Nothing is buffered."""
