"""Private native module; use the public API in :mod:`streamlake_fast`."""

from collections.abc import Iterable
from typing import Any, final

__all__ = ["DEBUG_BUILD", "REJECT_CODES", "ArrowBatch", "Codec", "Schema"]

REJECT_CODES: list[str]
DEBUG_BUILD: bool

@final
class Schema:
    @staticmethod
    def from_json(text: str) -> Schema: ...
    def to_json(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    def __arrow_c_schema__(self) -> object: ...

@final
class ArrowBatch:
    @property
    def num_rows(self) -> int: ...
    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_array__(self, requested_schema: Any = None) -> tuple[object, object]: ...

@final
class Codec:
    def __new__(
        cls,
        schema: Schema,
        *,
        unknown_fields: str = "reject",
        max_message_bytes: int = 10_000_000,
        max_depth: int = 500,
    ) -> Codec: ...
    def decode_messages(self, messages: Iterable[bytes]) -> tuple[ArrowBatch, list[tuple[int, str, str, str]]]: ...
    def decode_ndjson(self, data: bytes) -> tuple[ArrowBatch, list[tuple[int, str, str, str]]]: ...
