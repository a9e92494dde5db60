"""streamlake_fast: validated JSON events to Apache Arrow at sub-microsecond cost per event.

>>> from streamlake_fast import Schema, Codec
>>> schema = Schema.from_bigquery([{"name": "id", "type": "STRING", "mode": "REQUIRED"}])
>>> result = Codec(schema).decode([b'{"id": "a"}', b'{"id": 1}'])
>>> result.batch.num_rows, [r.code for r in result.rejects]
(1, ['type_mismatch'])
"""

from __future__ import annotations

import warnings

from streamlake_fast import _native
from streamlake_fast.codec import REJECT_CODES, Codec, DecodeResult, Reject
from streamlake_fast.exceptions import DecodeError, SchemaError, StreamlakeError
from streamlake_fast.schema import Schema

__version__ = "0.1.0"

# The worker's parts need the cloud clients (the `gcp` extra); they load on first use.
_LAZY = {
    "Worker": "streamlake_fast.worker",
    "WorkerConfig": "streamlake_fast.config",
    "PubSubSource": "streamlake_fast.sources.pubsub",
    "BigQuerySink": "streamlake_fast.sinks.bigquery",
    "DeadLetterTopic": "streamlake_fast.sinks.deadletter",
    "DeadLetterTable": "streamlake_fast.sinks.deadletter",
    "build_worker": "streamlake_fast.app",
}

__all__ = [
    "REJECT_CODES",
    "BigQuerySink",
    "Codec",
    "DeadLetterTable",
    "DeadLetterTopic",
    "DecodeError",
    "DecodeResult",
    "PubSubSource",
    "Reject",
    "Schema",
    "SchemaError",
    "StreamlakeError",
    "Worker",
    "WorkerConfig",
    "__version__",
    "build_worker",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'streamlake_fast' has no attribute {name!r}")


if _native.DEBUG_BUILD:
    warnings.warn(
        "streamlake_fast was built in debug mode and is much slower; build with `maturin develop --release`",
        RuntimeWarning,
        stacklevel=2,
    )
