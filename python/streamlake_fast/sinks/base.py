"""The sink interface."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from streamlake_fast.exceptions import SinkError, TransientSinkError

__all__ = ["Sink", "SinkError", "TransientSinkError"]


class Sink(Protocol):
    """Writes Arrow batches; :meth:`write` returns only when the rows are durable, and raises
    :class:`TransientSinkError` for failures worth retrying and :class:`SinkError` for the rest."""

    name: str

    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...
