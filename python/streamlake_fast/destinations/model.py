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

from streamlake_fast.destinations.options import (
    CodecConfig,
    CreateTableConfig,
    IcebergConfig,
    LakeConfig,
    SchemaUpdateConfig,
)
from streamlake_fast.destinations.routes import Route, RoutingConfig, check_routes
from streamlake_fast.destinations.templates import Template
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
    iceberg: IcebergConfig = msgspec.field(default_factory=IcebergConfig)
    create_table: CreateTableConfig = msgspec.field(default_factory=CreateTableConfig)
    schema_update: SchemaUpdateConfig = msgspec.field(default_factory=SchemaUpdateConfig)
    routes: list[Route] = msgspec.field(default_factory=list)  # one stream, many event types (``[[routes]]``)
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)

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
        """Where the rejects go: the one given, else ``<table>_rejects``, else files under the lake (for a
        template, its literal start: ``p.d.events_{attributes.type}`` → ``p.d.events_rejects``; ``/lake/{field.x}``
        → ``/lake``)."""
        for kind, setting in DEAD_LETTER_KINDS.items():
            if where := getattr(self, setting):
                return DeadLetter(kind, where)
        if self.table:
            return DeadLetter("table", f"{_literal_prefix(self.table, '.').rstrip('_-')}_rejects")
        if not self.lake.root and self.iceberg.table and self.iceberg.warehouse:
            return DeadLetter("files", self.iceberg.warehouse.rstrip("/"))
        return DeadLetter("files", _literal_prefix(self.lake.root, "/").rstrip("/"))

    @property
    def routed(self) -> bool:
        """Whether messages are routed: routes are given, or the table or the lake root is a template."""
        return bool(self.routes) or any(Template.parse(t, "path").parts for t in (self.table, self.lake.root))

    def route_list(self) -> list[Route]:
        """The routes; a routed stream without ``routes`` (a templated table or lake) is one default route."""
        return self.routes or ([Route(name="default")] if self.routed else [])

    def for_route(self, route: Route) -> Destinations:
        """This stream's settings with ``route``'s: its schema, table, lake (a prefix joined to the stream's lake
        root, unless it is a root of its own; default: the route's name under the stream's lake root; ``""``: no
        lake), partitioning and dead-letter destination (default: the stream's)."""
        lake = self.lake
        prefix = route.lake if route.lake is not None or not self.routes else route.name
        if prefix is not None:
            root = prefix
            if prefix and self.lake.root and not prefix.startswith(("/", "gs://", "s3://")):
                root = f"{self.lake.root.rstrip('/')}/{prefix.lstrip('/')}"
            lake = msgspec.structs.replace(lake, root=root)
        if route.partition_by is not None:
            lake = msgspec.structs.replace(lake, partition_by=route.partition_by)
        own = {s: getattr(route, s) for s in DEAD_LETTER_KINDS.values() if getattr(route, s)}
        dead = self.dead_letter()
        dead_letters = own or {DEAD_LETTER_KINDS[dead.kind]: dead.where}
        table = self.table if route.table is None else route.table
        iceberg = self.iceberg
        if self.routes or route.iceberg_table is not None:
            iceberg = msgspec.structs.replace(iceberg, table=route.iceberg_table or "")
        create_table = self.create_table
        if not table and create_table.enabled:  # the stream's --create-table is for the routes with a table
            create_table = msgspec.structs.replace(create_table, enabled=False)
        return msgspec.structs.replace(
            self, routes=[], table=table, schema=route.schema or self.schema, lake=lake, create_table=create_table,
            iceberg=iceberg,
            **{s: dead_letters.get(s) for s in DEAD_LETTER_KINDS.values()},
        )  # fmt: skip

    def check(self, *, events_given: bool = False) -> None:
        """Check the destinations' settings (raises :class:`ConfigError` naming the setting); ``events_given``: the
        caller holds the events' schema (no ``schema`` file is needed without a table)."""
        try:
            msgspec.convert(msgspec.to_builtins(self), type(self))
        except msgspec.ValidationError as e:
            raise ConfigError(f"invalid setting: {e}") from e
        if self.routed:
            self._check_routes(events_given)
            return
        if not self.table and not self.lake.root and not self.iceberg.table:
            raise ConfigError("no sink: pass --table PROJECT.DATASET.TABLE, --lake ROOT and/or --iceberg-table "
                              "NAMESPACE.TABLE (or set them)")  # fmt: skip
        self.iceberg.check()
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
        elif not dead.where:
            raise ConfigError("no dead-letter destination: give one (--dead-letter-dir, -topic, -queue or -table)")
        else:
            check_uri(dead.where, "dead-letter files root")
        if self.schema and not Path(self.schema).is_file():
            raise ConfigError(f"schema file not found: {self.schema}")

    def _check_routes(self, events_given: bool) -> None:
        """Each route with the stream's settings, its templates filled with plain values, checked as a stream."""
        routes = self.route_list()
        check_routes(routes)
        dead = self.dead_letter()
        if not dead.where or Template.parse(dead.where, "path").parts:
            raise ConfigError("a routed stream needs one dead-letter destination for messages no route takes, not "
                              f"a template ({dead.where!r}): give --lake ROOT or a dead_letter_* setting")  # fmt: skip
        for route in routes:
            d = self.for_route(route)
            table = Template.parse(d.table, "table").sample()
            root = Template.parse(d.lake.root, "path", event_time=d.lake.partition_by or "event_time").sample()
            try:
                msgspec.structs.replace(d, table=table, lake=msgspec.structs.replace(d.lake, root=root)).check(
                    events_given=events_given)  # fmt: skip
            except ConfigError as e:
                raise ConfigError(f"route {route.name}: {e}") from None


def _literal_prefix(template: str, separator: str) -> str:
    """``template`` up to its first part, whole when the part is in its last ``separator``-separated piece; else up to
    the separator before it."""
    if "{" not in template:
        return template
    head = template[: template.index("{")]
    if separator in template[len(head) :]:
        return head[: head.rfind(separator)] if separator in head else ""
    return head
