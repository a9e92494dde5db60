"""Private native module; use the public API in :mod:`streamlake_fast`."""

from collections.abc import Iterable
from typing import Any, final

__all__ = [
    "ALLOCATOR_PURGE_DELAY_MS",
    "DEAD_LETTER_SCHEMA",
    "DEBUG_BUILD",
    "METADATA_COLUMNS",
    "METADATA_SCHEMA",
    "REJECT_CODES",
    "ArrowBatch",
    "AwsJsonClient",
    "Codec",
    "Messages",
    "Schema",
    "Transform",
    "append_rows_head",
    "prepare_publish",
    "publish_requests",
    "publish_response_ids",
    "pull_request",
    "register_dictionary",
    "sigv4_headers",
    "sqs_batch_failures",
    "sqs_send_batch_requests",
    "train_dictionary",
]

REJECT_CODES: list[str]
#: Milliseconds the extension's allocator keeps freed pages for reuse (None: built without mimalloc).
ALLOCATOR_PURGE_DELAY_MS: int | None
DEBUG_BUILD: bool
METADATA_COLUMNS: list[tuple[str, list[str]]]
METADATA_SCHEMA: ArrowBatch
DEAD_LETTER_SCHEMA: ArrowBatch

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
class Transform:
    def __new__(cls, spec: str) -> Transform: ...
    def apply(self, event: bytes, max_depth: int = 500) -> bytes: ...

@final
class Codec:
    def __new__(
        cls,
        schema: Schema,
        *,
        unknown_fields: str = "reject",
        max_message_bytes: int = 10_000_000,
        max_depth: int = 500,
        redact_values: bool = False,
    ) -> Codec: ...
    def decode_messages(self, messages: Iterable[bytes]) -> tuple[ArrowBatch, list[tuple[int, str, str, str]]]: ...
    def decode_ndjson(self, data: bytes) -> tuple[ArrowBatch, list[tuple[int, str, str, str]]]: ...

@final
class Messages:
    @staticmethod
    def from_pull_responses(responses: list[bytes]) -> Messages: ...
    @staticmethod
    def from_data(messages: Iterable[bytes], first_id: int, publish_time_us: int) -> Messages: ...
    @staticmethod
    def from_parts(parts: list[tuple[bytes, dict[str, str] | None, str, int, str]]) -> Messages: ...
    @staticmethod
    def from_push(bodies: list[bytes]) -> tuple[Messages, list[tuple[int, str]], str]: ...
    @staticmethod
    def from_sqs_responses(responses: list[bytes]) -> Messages: ...
    def sqs_batch_requests(
        self, queue_url: str, visibility: int | None = None, indices: list[int] | None = None
    ) -> list[bytes]: ...
    @staticmethod
    def concat(batches: list[Messages]) -> Messages: ...
    def opened(self, *, max_bytes: int = ..., max_events: int = ...) -> Messages | None: ...
    def __len__(self) -> int: ...
    @property
    def data_bytes(self) -> int: ...
    @property
    def billed_bytes(self) -> int: ...
    @property
    def contents(self) -> tuple[int, int]: ...
    @property
    def size_bytes(self) -> int: ...
    def decode(
        self, codec: Codec, metadata: list[str], source: str
    ) -> tuple[ArrowBatch, list[tuple[int, str, str, str]]]: ...
    def dead_letters(
        self, rejects: list[tuple[int, str, str, str]], source: str, schema_fingerprint: str, rejected_at_us: int
    ) -> ArrowBatch: ...
    def acknowledge_requests(self, subscription: str, indices: list[int] | None = None) -> list[bytes]: ...
    def modify_ack_deadline_requests(
        self, subscription: str, seconds: int, indices: list[int] | None = None
    ) -> list[bytes]: ...
    def message(self, i: int) -> tuple[bytes, dict[str, str], str, int, str, int]: ...
    def ack_ids(self) -> list[str]: ...
    def group_by_route(
        self,
        *,
        attribute: str | None = None,
        field: str | None = None,
        time_format: str | None = None,
        max_depth: int = 500,
    ) -> list[tuple[int, bytes | None, Messages, bytes]]: ...

def pull_request(subscription: str, max_messages: int) -> bytes: ...
def append_rows_head(write_stream: str, offset: int | None, schema: bytes, rows: int, batch_len: int) -> bytes: ...
def publish_response_ids(response: bytes) -> int: ...
def publish_requests(
    topic: str, messages: list[tuple[bytes, list[tuple[str, str]]]]
) -> tuple[list[bytes], list[int]]: ...
def prepare_publish(
    topic: str | None = None,
    *,
    bodies: list[tuple[bytes, int, bool]] | None = None,
    events: bytes | Iterable[bytes] | None = None,
    queue_url: str | None = None,
    max_batch_bytes: int = 1_000_000,
    codec: Codec | None = None,
    event_id_prefix: str | None = None,
    next_seq: int = 0,
    ingest_time: str | None = None,
    max_depth: int = 500,
    max_events: int = 1000,
    transform: Transform | None = None,
    envelope_bytes: int | None = None,
    envelope_events: int = 10_000,
    envelope_level: int = 3,
    envelope_dictionary: int | None = None,
) -> tuple[
    list[bytes],
    list[int],
    list[int],
    list[tuple[int, list[tuple[int, str, str, str]], tuple[int, str] | None, int, int]],
    int,
    list[list[tuple[int, int]]],
    list[int],
]: ...

@final
class AwsJsonClient:
    def __new__(
        cls,
        endpoint_url: str,
        region: str,
        service: str,
        target_prefix: str,
        *,
        timeout: float = 60.0,
        max_connections: int = 16,
    ) -> AwsJsonClient: ...
    def set_credentials(self, access_key: str, secret_key: str, session_token: str | None = None) -> None: ...
    def call(self, action: str, body: bytes) -> tuple[int, bytes]: ...

def sigv4_headers(
    access_key: str,
    secret_key: str,
    session_token: str | None,
    region: str,
    service: str,
    host: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    amz_date: str,
) -> list[tuple[str, str]]: ...
def sqs_batch_failures(body: bytes) -> tuple[int, list[tuple[int, bool, str, str]]]: ...
def sqs_send_batch_requests(
    queue_url: str, entries: list[tuple[str, list[tuple[str, str]], str | None, str | None]], max_bytes: int
) -> list[tuple[bytes, int]]: ...
def register_dictionary(data: bytes) -> int: ...
def train_dictionary(samples: list[bytes], max_size: int) -> bytes: ...
