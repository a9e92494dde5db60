"""The core's native layer: the schema, the codec, received messages, the declarative transform and schema
evolution — the only modules that call the Rust extension (with the transports' wire modules)."""

from streamlake_fast.codec.codec import REJECT_CODES, Codec, DecodeResult, Reject
from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.schema import Schema

__all__ = ["REJECT_CODES", "Codec", "DecodeResult", "Messages", "Reject", "Schema"]
