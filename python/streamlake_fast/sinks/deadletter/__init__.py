"""Dead-letter destinations: every rejected message, with its raw data, attributes and the reason, as one record
shape (:mod:`~streamlake_fast.sinks.deadletter.record`) written to a Pub/Sub topic, an SQS queue, a BigQuery
table or NDJSON files. Each is a sink like the others: a message is acknowledged only once its dead letter is
durable."""

from streamlake_fast.sinks.deadletter.files import DeadLetterFiles
from streamlake_fast.sinks.deadletter.queue import DeadLetterQueue
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_FIELDS, DEAD_LETTER_SCHEMA, dead_letter_records
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
