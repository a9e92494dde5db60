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

__all__ = [
    "REJECT_CODES",
    "Codec",
    "DecodeError",
    "DecodeResult",
    "Reject",
    "Schema",
    "SchemaError",
    "StreamlakeError",
    "__version__",
]

if _native.DEBUG_BUILD:
    warnings.warn(
        "streamlake_fast was built in debug mode and is much slower; build with `maturin develop --release`",
        RuntimeWarning,
        stacklevel=2,
    )
