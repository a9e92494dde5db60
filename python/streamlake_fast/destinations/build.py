"""Build a :class:`~streamlake_fast.destinations.model.Destinations` description into its parts: the codec, the
sinks, the dead-letter sink and the schema watch — the one place a sink kind is made, for every runtime. Cloud
clients are imported only for the destinations used (a missing extra raises
:class:`~streamlake_fast.exceptions.MissingExtra` naming it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from streamlake_fast.codec.codec import Codec
from streamlake_fast.codec.envelope import load_dictionaries
from streamlake_fast.codec.evolution import Inference
from streamlake_fast.codec.schema import Schema
from streamlake_fast.destinations.model import DeadLetter, Destinations
from streamlake_fast.destinations.schema_watch import SchemaWatch
from streamlake_fast.destinations.schemas import events_of
from streamlake_fast.extras import needs_extra
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sinks.deadletter.files import DeadLetterFiles
from streamlake_fast.sinks.lake import LakeSink, lake_schema
from streamlake_fast.sinks.redeliveries import DEDUP_IDS

__all__ = ["Built", "build", "codec_of", "dead_letter_sink", "iceberg_sink", "lake_sink", "resolve_schema"]

log = logging.getLogger(__name__)


@dataclass
class Built:
    """Where decoded events go, made: the codec, the sinks, the dead-letter sink and the schema watch."""

    codec: Codec
    sinks: list[Sink]
    dead_letter: Sink
    schema_watch: SchemaWatch | None


def build(d: Destinations, *, events: Schema | None = None, max_file_age: float | None = None) -> Built:
    """The codec and every destination of ``d`` (checked first). ``events``: the events' schema when the caller
    holds it already (else ``d.schema``'s file or the table's columns); ``max_file_age``: the lake's, when the
    runtime makes its files visible itself (the Lambda handler, at the end of each invocation)."""
    d.check(events_given=events is not None)
    full, data_schema = resolve_schema(d, events)
    codec = codec_of(d, data_schema)
    sinks: list[Sink] = []
    if full is not None:
        with needs_extra():
            from streamlake_fast.sinks.bigquery import BigQuerySink
        has_metadata = len(full.to_bigquery()) != len(data_schema.to_bigquery())
        sinks.append(BigQuerySink(d.table, mode=d.mode, schema=full.to_arrow() if has_metadata else None))
    if d.lake.root:
        sinks.append(lake_sink(d, data_schema, max_file_age=max_file_age))
    if d.iceberg.table:
        sinks.append(iceberg_sink(d, data_schema))
    return Built(codec, sinks, dead_letter_sink(d.dead_letter()), _schema_watch(d, full))


def resolve_schema(d: Destinations, events: Schema | None = None) -> tuple[Schema | None, Schema]:
    """(the table's columns, or None without a table; the events' schema) of ``d``, the table created first when
    ``d`` asks for it. ``events``: the events' schema when the caller holds it (else ``d.schema``'s file)."""
    given = events if events is not None else Schema.from_bigquery(d.schema) if d.schema else None
    full = None
    if d.table:
        with needs_extra():
            from streamlake_fast.transports.gcp.tables import create_table, table_schema
        if d.create_table.enabled:
            assert given is not None
            create_table(d.table, given, d.create_table, d.lake.partition_by)
        full = table_schema(d.table)
    return full, events_of(full, given, d.table)


def codec_of(d: Destinations, events: Schema) -> Codec:
    """The codec of events of schema ``events`` with ``d``'s codec options (its envelope dictionaries loaded)."""
    options = d.codec
    load_dictionaries(options.envelope_dictionaries)
    return Codec(events, unknown_fields=options.unknown_fields, max_message_bytes=options.max_message_bytes,
                 max_depth=options.max_depth, redact_values=options.redact_values)  # fmt: skip


def dead_letter_sink(dead: DeadLetter) -> Sink:
    """The sink writing dead-letter records to ``dead``."""
    if dead.kind == "files":
        return DeadLetterFiles(dead.where)
    if dead.kind == "queue":
        from streamlake_fast.sinks.deadletter.queue import DeadLetterQueue

        return DeadLetterQueue(dead.where)
    with needs_extra():
        if dead.kind == "topic":
            from streamlake_fast.sinks.deadletter.topic import DeadLetterTopic

            return DeadLetterTopic(dead.where)
        from streamlake_fast.sinks.deadletter.table import DeadLetterTable

        return DeadLetterTable(dead.where)


def lake_sink(d: Destinations, events: Schema, *, max_file_age: float | None = None) -> LakeSink:
    lake = d.lake
    return LakeSink(lake.root, schema=lake_schema(events.to_arrow()), partition_by=lake.partition_by,
                    target_file_bytes=lake.target_file_bytes, max_file_age=max_file_age or lake.max_file_age,
                    max_open_files=lake.max_open_files, compression=lake.compression,
                    dedup_ids=DEDUP_IDS)  # fmt: skip


def iceberg_sink(d: Destinations, events: Schema) -> Sink:
    """The Iceberg sink of ``d`` (extra ``[iceberg]``)."""
    with needs_extra():
        from streamlake_fast.sinks.iceberg import IcebergSink
    ice = d.iceberg
    return IcebergSink(ice.table, catalog=ice.catalog, warehouse=ice.warehouse or None,
                       schema=lake_schema(events.to_arrow()), partition_by=d.lake.partition_by,
                       commit_interval=ice.commit_interval, commit_bytes=ice.commit_bytes,
                       target_file_bytes=ice.target_file_bytes, compression=d.lake.compression)  # fmt: skip


def _schema_watch(d: Destinations, full: Schema | None) -> SchemaWatch | None:
    update = d.schema_update
    if full is None or update.mode == "off":
        return None
    types_from = Schema.from_bigquery(update.types_from).to_bigquery() if update.types_from else None
    inference = Inference(types_from, update.numbers, update.objects, max_new_columns=update.max_new_columns,
                          max_columns=update.max_columns)  # fmt: skip
    from streamlake_fast.transports.gcp.tables import table_schema, update_schema

    return SchemaWatch(d.table, full, fetch=partial(table_schema, d.table), update=partial(update_schema, d.table),
                       interval=update.check_interval, add_columns=update.mode == "add_columns",
                       relax_required=update.relax_required, inference=inference)  # fmt: skip
