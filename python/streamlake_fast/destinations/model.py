"""Where decoded events go, described once for every runtime: ``streamlake run`` (its configuration extends this),
the push handler, the Lambda handler and the Beam pipeline all take a :class:`Destinations` and build it with
:func:`~streamlake_fast.destinations.build.build`.

The sinks: a BigQuery ``table`` and/or a ``lake``. The dead-letter destination: exactly one of a Pub/Sub topic, an
SQS queue, a BigQuery table or files under the lake; by default ``<table>_rejects`` with a table, else
``<lake>/_rejects/``. One set of choices and one set of defaults, whatever runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from streamlake_fast.destinations.options import CodecConfig, CreateTableConfig, LakeConfig, SchemaUpdateConfig
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.transports.names import check_queue_url, check_topic, parse_table
from streamlake_fast.transports.storage import check_uri

__all__ = ["DEAD_LETTER_KINDS", "DeadLetter", "DeadLetterKind", "Destinations"]

DeadLetterKind = Literal["topic", "queue", "table", "files"]
#: Each dead-letter destination's setting, by kind.
DEAD_LETTER_KINDS: dict[DeadLetterKind, str] = {"topic": "dead_letter_topic", "queue": "dead_letter_queue",
                                                "table": "dead_letter_table", "files": "dead_letter_dir"}  # fmt: skip


class DeadLetter(msgspec.Struct, frozen=True):
    """One dead-letter destination: a Pub/Sub ``topic`` (``projects/P/topics/T``), an SQS ``queue`` (its URL), a
    BigQuery ``table`` (``project.dataset.table``, created when missing) or ``files`` (NDJSON under
    ``<where>/_rejects/``: a path, ``gs://`` or ``s3://`` root)."""

    kind: DeadLetterKind
    where: str

    def __str__(self) -> str:
        return f"{self.kind} {self.where}"


class Destinations(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The sinks and the dead-letter destination, with their options."""

    table: str = ""  # BigQuery, PROJECT.DATASET.TABLE
    mode: Literal["default", "committed"] = "default"  # the Storage Write stream
    schema: str | None = None  # a BigQuery schema JSON file; default: the table's own schema
    dead_letter_topic: str | None = None
    dead_letter_queue: str | None = None  # an SQS queue URL
    dead_letter_table: str | None = None
    dead_letter_dir: str | None = None  # NDJSON files under <dir>/_rejects/ (default with a lake and no table)
    codec: CodecConfig = msgspec.field(default_factory=CodecConfig)
    lake: LakeConfig = msgspec.field(default_factory=LakeConfig)
    create_table: CreateTableConfig = msgspec.field(default_factory=CreateTableConfig)
    schema_update: SchemaUpdateConfig = msgspec.field(default_factory=SchemaUpdateConfig)

    @classmethod
    def of(
        cls,
        *,
        table: str = "",
        lake: str = "",
        schema: str | None = None,
        partition_by: str | None = None,
        dead_letter_topic: str | None = None,
        dead_letter_queue: str | None = None,
        dead_letter_table: str | None = None,
        dead_letter_dir: str | None = None,
        mode: Literal["default", "committed"] = "default",
        unknown_fields: Literal["reject", "ignore"] = "reject",
    ) -> Destinations:
        """The common settings as keywords (the push, Lambda and Beam entry points take these); every other option
        at its default."""
        return cls(table=table, schema=schema, mode=mode, dead_letter_topic=dead_letter_topic,
                   dead_letter_queue=dead_letter_queue, dead_letter_table=dead_letter_table,
                   dead_letter_dir=dead_letter_dir, codec=CodecConfig(unknown_fields=unknown_fields),
                   lake=LakeConfig(root=lake, partition_by=partition_by))  # fmt: skip

    def dead_letter(self) -> DeadLetter:
        """Where the rejects go: the one given, else ``<table>_rejects``, else files under the lake."""
        for kind, setting in DEAD_LETTER_KINDS.items():
            if where := getattr(self, setting):
                return DeadLetter(kind, where)
        if self.table:
            return DeadLetter("table", f"{self.table}_rejects")
        return DeadLetter("files", self.lake.root)

    def check(self, *, events_given: bool = False) -> None:
        """Check the destinations' settings (raises :class:`ConfigError` naming the setting); ``events_given``: the
        caller holds the events' schema (no ``schema`` file is needed without a table)."""
        try:
            msgspec.convert(msgspec.to_builtins(self), type(self))
        except msgspec.ValidationError as e:
            raise ConfigError(f"invalid setting: {e}") from e
        if not self.table and not self.lake.root:
            raise ConfigError("no sink: pass --table PROJECT.DATASET.TABLE and/or --lake ROOT (or set them)")
        if not self.table and not self.schema and not events_given:
            raise ConfigError("without a table the schema must be given: pass --schema FILE.json")
        if self.create_table.enabled and not (self.table and self.schema):
            raise ConfigError("--create-table needs --table and the events' --schema FILE.json")
        self.schema_update.check(bool(self.table))
        given = [setting for setting in DEAD_LETTER_KINDS.values() if getattr(self, setting)]
        if len(given) > 1:
            raise ConfigError(f"give one dead-letter destination, not {' and '.join(given)}")
        if self.table:
            parse_table(self.table)
        if self.lake.root:
            check_uri(self.lake.root, "lake root")
        dead = self.dead_letter()
        if dead.kind == "topic":
            check_topic(dead.where)
        elif dead.kind == "queue":
            check_queue_url(dead.where)
        elif dead.kind == "table":
            parse_table(dead.where)
        else:
            check_uri(dead.where, "dead-letter files root")
        if self.schema and not Path(self.schema).is_file():
            raise ConfigError(f"schema file not found: {self.schema}")
