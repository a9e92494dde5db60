"""streamlake_fast: validated JSON events to Apache Arrow at sub-microsecond cost per event.

>>> from streamlake_fast import Schema, Codec
>>> schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}])
>>> result = Codec(schema).decode([b'{"id": "a"}', b'{"id": 1}'])
>>> result.batch.num_rows, [r.code for r in result.rejects]
(1, ['type_mismatch'])
"""

from __future__ import annotations

from streamlake_fast.codec.codec import REJECT_CODES, Codec, DecodeResult, Reject
from streamlake_fast.codec.messages import METADATA_SCHEMA, Message, Messages
from streamlake_fast.codec.schema import Schema
from streamlake_fast.exceptions import ConfigError, DecodeError, SchemaError, SinkError, StreamlakeError
from streamlake_fast.sources.delivery import Delivery

__version__ = "0.1.0"

# The worker's parts need the cloud clients (the `gcp` extra); they load on first use.
_LAZY = {
    "Worker": "streamlake_fast.worker",
    "WorkerConfig": "streamlake_fast.config",
    "PubSubSource": "streamlake_fast.transports.gcp.pull",
    "MemorySource": "streamlake_fast.sources.memory",
    "BigQuerySink": "streamlake_fast.sinks.bigquery",
    "LakeSink": "streamlake_fast.sinks.lake",
    "DeadLetterTopic": "streamlake_fast.sinks.deadletter",
    "DeadLetterTable": "streamlake_fast.sinks.deadletter",
    "DeadLetterFiles": "streamlake_fast.sinks.deadletter",
    "Publisher": "streamlake_fast.edge.publisher",
    "build_worker": "streamlake_fast.runtimes.worker",
}

__all__ = [
    "METADATA_SCHEMA",
    "REJECT_CODES",
    "BigQuerySink",
    "Codec",
    "ConfigError",
    "DeadLetterFiles",
    "DeadLetterTable",
    "DeadLetterTopic",
    "DecodeError",
    "DecodeResult",
    "Delivery",
    "LakeSink",
    "MemorySource",
    "Message",
    "Messages",
    "PubSubSource",
    "Publisher",
    "Reject",
    "Schema",
    "SchemaError",
    "SinkError",
    "StreamlakeError",
    "Worker",
    "WorkerConfig",
    "__version__",
    "build_worker",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        from streamlake_fast.extras import needs_extra

        with needs_extra():
            return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'streamlake_fast' has no attribute {name!r}")
