"""Worker configuration: a TOML file validated with msgspec; command-line flags override it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from streamlake_fast.exceptions import ConfigError
from streamlake_fast.names import check_queue_url, check_subscription, check_topic, parse_table
from streamlake_fast.storage import check_uri

__all__ = [
    "BatchConfig",
    "CodecConfig",
    "CreateTableConfig",
    "LakeConfig",
    "PubSubConfig",
    "SchemaUpdateConfig",
    "SqsConfig",
    "WorkerConfig",
    "load_config",
]

Positive = Annotated[int, msgspec.Meta(gt=0)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class BatchConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """When a batch is written: whichever limit comes first."""

    max_rows: Positive = 50_000
    max_bytes: Positive = 8_000_000
    max_latency: PositiveSeconds = 1.0  # seconds from the first pull of a batch to durable


class PubSubConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    max_messages: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1000  # Pub/Sub's limit per Pull
    concurrent_pulls: Annotated[int, msgspec.Meta(ge=1, le=64)] = 3
    max_outstanding_messages: Positive = 200_000
    max_outstanding_bytes: Positive = 256 << 20
    ack_deadline: Annotated[int, msgspec.Meta(ge=10, le=600)] = 60  # seconds each lease extension asks for
    max_lease: PositiveSeconds = 3600.0  # seconds a message is held, not yet durable, before it is handed back


class SqsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    concurrent_receives: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8  # ReceiveMessage calls in flight
    wait_time: Annotated[int, msgspec.Meta(ge=0, le=20)] = 20  # long-polling seconds per call
    visibility_timeout: Annotated[int, msgspec.Meta(ge=1, le=43_200)] = 60  # seconds; extended while held
    max_outstanding_messages: Positive = 100_000
    max_outstanding_bytes: Positive = 256 << 20
    # seconds a message is held, not yet durable, before it is handed back: at most SQS's own 12 h, after which a
    # visibility extension is refused and the message comes back anyway
    max_lease: Annotated[float, msgspec.Meta(gt=0, le=43_200)] = 3600.0


class CodecConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    unknown_fields: Literal["reject", "ignore"] = "reject"
    max_message_bytes: Positive = 10_000_000
    max_depth: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500  # nesting levels (1,000 at most: stack)
    redact_values: bool = False  # leave event values out of reject messages (personal data)


class LakeConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The data-lake sink; no ``root``, no lake."""

    root: str = ""  # a path, gs://bucket/prefix or s3://bucket/prefix
    partition_by: str | None = None  # a TIMESTAMP/DATETIME/DATE field; default: the publish time
    target_file_bytes: Positive = 128 << 20
    max_file_age: PositiveSeconds = 60.0
    max_open_files: Positive = 32  # files open at once (one per partition); a new one rolls the least recent
    compression: str = "zstd"


class CreateTableConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``--create-table``: create the table from ``schema`` when it is missing (the rejects table is always created
    when missing). Time partitioning on ``lake.partition_by`` when set, else on ingestion time."""

    enabled: bool = False
    partition_type: Literal["HOUR", "DAY", "MONTH", "YEAR"] = "DAY"
    partition_expiration_days: Annotated[float, msgspec.Meta(gt=0)] | None = None
    require_partition_filter: bool = False
    cluster_by: list[str] = msgspec.field(default_factory=list)  # up to 4 top-level columns
    metadata_columns: list[str] = msgspec.field(default_factory=list)  # e.g. ["message_id", "publish_time"]


class SchemaUpdateConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How the worker follows the table's schema while it runs (with a table).

    ``follow``: re-read the table's schema when a batch has ``unknown_field``/``missing_required`` rejects and every
    ``check_interval`` seconds; columns someone added are written from then on, no restart. ``add_columns``: the
    same, and the worker adds NULLABLE columns for unknown fields itself. ``off``: the schema read at start.
    """

    mode: Literal["off", "follow", "add_columns"] = "follow"
    check_interval: Annotated[float, msgspec.Meta(ge=0)] = 60.0  # seconds; 0: only when rejects call for it
    relax_required: bool = False  # REQUIRED columns the events leave out become NULLABLE (add_columns only)
    types_from: str | None = None  # a newer BigQuery schema file (the producer's): new columns' types from it
    numbers: Literal["FLOAT64", "NUMERIC"] = "FLOAT64"  # inferred type of non-integer numbers
    max_new_columns: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50  # columns one change adds at most
    max_columns: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 2000  # the table's columns, nested included
    objects: Literal["RECORD", "JSON"] = "RECORD"  # inferred type of JSON objects


class WorkerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Everything ``streamlake run`` needs; see the README for each key."""

    subscription: str = ""  # a Pub/Sub subscription ...
    queue: str = ""  # ... or an SQS queue URL
    table: str = ""
    mode: Literal["default", "committed"] = "default"
    dead_letter_topic: str | None = None
    dead_letter_queue: str | None = None  # an SQS queue URL
    dead_letter_table: str | None = None  # default: "<table>_rejects" (or "<lake>/_rejects" without a table)
    schema: str | None = None  # a BigQuery schema JSON file; default: the table's own schema
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    metrics_address: str = "127.0.0.1"  # where the metrics port listens (0.0.0.0: every interface)
    progress_interval: PositiveSeconds = 5.0
    shutdown_timeout: PositiveSeconds = 30.0  # seconds from SIGTERM to exit, whatever the sinks are doing
    exit_when_drained: bool = False
    allow_mixed_endpoints: bool = False  # some clients on emulators, others on Google (tests only)
    batch: BatchConfig = msgspec.field(default_factory=BatchConfig)
    pubsub: PubSubConfig = msgspec.field(default_factory=PubSubConfig)
    sqs: SqsConfig = msgspec.field(default_factory=SqsConfig)
    codec: CodecConfig = msgspec.field(default_factory=CodecConfig)
    lake: LakeConfig = msgspec.field(default_factory=LakeConfig)
    create_table: CreateTableConfig = msgspec.field(default_factory=CreateTableConfig)
    schema_update: SchemaUpdateConfig = msgspec.field(default_factory=SchemaUpdateConfig)

    def validate(self, *, source: bool = True) -> WorkerConfig:
        """Check every setting, however the config was made (TOML, flags, or built in Python); ``source=False``:
        for the push handler, which receives its messages over HTTP."""
        try:
            msgspec.convert(msgspec.to_builtins(self), type(self))
        except msgspec.ValidationError as e:
            raise ConfigError(f"invalid setting: {e}") from e
        if source and not self.subscription and not self.queue:
            raise ConfigError("no source: pass --subscription projects/P/subscriptions/S or --queue SQS_QUEUE_URL")
        if self.subscription and self.queue:
            raise ConfigError("give either a subscription or a queue, not both")
        if not self.table and not self.lake.root:
            raise ConfigError("no sink: pass --table PROJECT.DATASET.TABLE and/or --lake ROOT (or set them)")
        if not self.table and not self.schema:
            raise ConfigError("without a table the schema must be given: pass --schema FILE.json")
        if self.create_table.enabled and not (self.table and self.schema):
            raise ConfigError("--create-table needs --table and the events' --schema FILE.json")
        update = self.schema_update
        if update.relax_required and update.mode != "add_columns":
            raise ConfigError('schema_update.relax_required needs schema_update.mode = "add_columns"')
        if update.mode == "add_columns" and not self.table:
            raise ConfigError("schema_update add_columns needs a BigQuery table (--table)")
        if update.types_from and not Path(update.types_from).is_file():
            raise ConfigError(f"schema_update.types_from: schema file not found: {update.types_from}")
        if self.dead_letter_table and not self.table:
            raise ConfigError("dead_letter_table needs a BigQuery table; without one, rejects go to <lake>/_rejects")
        given = [k for k in ("dead_letter_topic", "dead_letter_table", "dead_letter_queue") if getattr(self, k)]
        if len(given) > 1:
            raise ConfigError(f"give one dead-letter destination, not {' and '.join(given)}")
        if self.subscription:
            check_subscription(self.subscription)
        elif self.queue:
            check_queue_url(self.queue)
        for table in (self.table, self.dead_letter_table):
            if table:
                parse_table(table)
        if self.dead_letter_topic:
            check_topic(self.dead_letter_topic)
        if self.dead_letter_queue:
            check_queue_url(self.dead_letter_queue)
        if self.lake.root:
            check_uri(self.lake.root, "lake root")
        least = self.lake.max_file_age + self.batch.max_latency + 60
        section, max_lease = ("sqs", self.sqs.max_lease) if self.queue else ("pubsub", self.pubsub.max_lease)
        if self.lake.root and max_lease < least:
            raise ConfigError(
                f"{section}.max_lease ({max_lease:g} s) must leave time for a lake file to roll: at least "
                f"lake.max_file_age + batch.max_latency + 60 s ({least:g} s)"
            )
        if self.schema and not Path(self.schema).is_file():
            raise ConfigError(f"schema file not found: {self.schema}")
        return self


def load_config(path: str | Path | None) -> WorkerConfig:
    """Read a TOML config (or the defaults when ``path`` is None)."""
    if path is None:
        return WorkerConfig()
    try:
        text = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from e
    try:
        return msgspec.toml.decode(text, type=WorkerConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {e}") from e
    except msgspec.DecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
