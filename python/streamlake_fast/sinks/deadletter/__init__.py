"""Dead-letter destinations: every rejected message, with its raw data, attributes and the reason, as one record
shape (:mod:`~streamlake_fast.sinks.deadletter.record`) written to a Pub/Sub topic, an SQS queue, a BigQuery
table or NDJSON files. Each is a sink like the others: a message is acknowledged only once its dead letter is
durable."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from streamlake_fast.extras import needs_extra
from streamlake_fast.sinks.deadletter.files import DeadLetterFiles
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_FIELDS, DEAD_LETTER_SCHEMA, dead_letter_records

if TYPE_CHECKING:
    from streamlake_fast.sinks.deadletter.queue import DeadLetterQueue
    from streamlake_fast.sinks.deadletter.table import DeadLetterTable
    from streamlake_fast.sinks.deadletter.topic import DeadLetterTopic

__all__ = [
    "DEAD_LETTER_FIELDS",
    "DEAD_LETTER_SCHEMA",
    "DeadLetterFiles",
    "DeadLetterQueue",
    "DeadLetterTable",
    "DeadLetterTopic",
    "dead_letter_records",
]

#: The destinations behind a cloud client load on first use, so the files and the record shape need no extra.
_BY_TRANSPORT = {"DeadLetterQueue": "queue", "DeadLetterTable": "table", "DeadLetterTopic": "topic"}


def __getattr__(name: str) -> Any:
    if name in _BY_TRANSPORT:
        with needs_extra():
            return getattr(importlib.import_module(f"{__name__}.{_BY_TRANSPORT[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
