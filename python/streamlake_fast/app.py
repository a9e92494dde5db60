"""Wire a worker from its configuration: the table's schema, the codec, the source, the sinks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from streamlake_fast.codec import Codec
from streamlake_fast.config import WorkerConfig
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.names import parse_table
from streamlake_fast.schema import Schema
from streamlake_fast.schema_evolution import Inference, narrowing
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.sinks.lake import LakeSink, lake_schema
from streamlake_fast.sources.base import Source
from streamlake_fast.tables import split_metadata
from streamlake_fast.worker import Worker
from streamlake_fast.worker.schema_watch import SchemaWatch

__all__ = [
    "Destinations",
    "build_destinations",
    "build_worker",
    "endpoints",
    "events_schema",
    "lake_sink",
    "split_metadata",
    "table_schema",
]

log = logging.getLogger(__name__)


def table_schema(table: str) -> Schema:
    """The table's schema, fetched once from BigQuery."""
    from streamlake_fast.endpoints import bigquery_client

    project, dataset, name = parse_table(table)
    try:
        fields = bigquery_client(project).get_table(f"{project}.{dataset}.{name}").schema
    except Exception as e:  # NotFound, Forbidden, connection errors: all fatal at start-up
        raise ConfigError(f"cannot read the schema of table {table}: {e}") from e
    return Schema.from_bigquery(list(fields))


def _check_given_schema(given: Schema, table: Schema, table_name: str) -> None:
    """The given schema must be the table's, or one the table widened (columns added since, modes relaxed)."""
    if given.fingerprint == table.fingerprint or not narrowing(given.to_bigquery(), table.to_bigquery()):
        return
    want = {f["name"]: f for f in table.to_bigquery()}
    have = {f["name"]: f for f in given.to_bigquery()}
    problems = [f"column {n!r} is missing from the table" for n in have if n not in want]
    problems += [f"table column {n!r} is missing from the given schema" for n in want if n not in have]
    problems += [
        f"column {n!r}: given {have[n]['type']} {have[n]['mode']}, table has {want[n]['type']} {want[n]['mode']}"
        for n in have
        if n in want and have[n] != want[n]
    ]
    raise ConfigError(f"the given schema does not match table {table_name}: " + "; ".join(problems or ["order"]))


def _schemas(config: WorkerConfig) -> tuple[Schema, Schema | None]:
    """(event schema, the table's full schema or None without a table)."""
    if not config.table:
        assert config.schema is not None
        return Schema.from_bigquery(config.schema), None
    if config.create_table.enabled:
        from streamlake_fast.tables import create_table

        assert config.schema is not None
        create_table(config.table, Schema.from_bigquery(config.schema), config.create_table, config.lake.partition_by)
    full = table_schema(config.table)
    return events_schema(config.table, config.schema, full=full), full


def events_schema(table: str, given: str | None = None, *, full: Schema | None = None) -> Schema:
    """The events' schema for ``table``: its columns minus the metadata columns; a ``given`` schema file must
    match them (raises :class:`ConfigError` naming each differing column)."""
    data_schema, _ = split_metadata(full or table_schema(table))
    if given:
        _check_given_schema(Schema.from_bigquery(given), data_schema, table)
    return data_schema


def _source(config: WorkerConfig) -> Source:
    if config.queue:
        from streamlake_fast.sources.sqs import SqsSource

        sqs = config.sqs
        return SqsSource(config.queue, concurrent_receives=sqs.concurrent_receives, wait_time=sqs.wait_time,
                         visibility_timeout=sqs.visibility_timeout,
                         max_outstanding_messages=sqs.max_outstanding_messages,
                         max_outstanding_bytes=sqs.max_outstanding_bytes, max_lease=sqs.max_lease)  # fmt: skip
    from streamlake_fast.sources.pubsub import PubSubSource

    pubsub = config.pubsub
    return PubSubSource(config.subscription, max_messages=pubsub.max_messages,
                        concurrent_pulls=pubsub.concurrent_pulls,
                        max_outstanding_messages=pubsub.max_outstanding_messages,
                        max_outstanding_bytes=pubsub.max_outstanding_bytes, ack_deadline=pubsub.ack_deadline,
                        max_lease=pubsub.max_lease)  # fmt: skip


def _dead_letter(config: WorkerConfig) -> Sink:
    if config.dead_letter_topic:
        from streamlake_fast.sinks.deadletter.topic import DeadLetterTopic

        return DeadLetterTopic(config.dead_letter_topic)
    if config.dead_letter_queue:
        from streamlake_fast.sinks.deadletter.queue import DeadLetterQueue

        return DeadLetterQueue(config.dead_letter_queue)
    if config.table:
        from streamlake_fast.sinks.deadletter.table import DeadLetterTable

        return DeadLetterTable(config.dead_letter_table or f"{config.table}_rejects")
    return DeadLetterFiles(config.lake.root)


def lake_sink(config: WorkerConfig, events: Schema) -> LakeSink:
    lake = config.lake
    return LakeSink(
        lake.root,
        schema=lake_schema(events.to_arrow()),
        partition_by=lake.partition_by,
        target_file_bytes=lake.target_file_bytes,
        max_file_age=lake.max_file_age,
        max_open_files=lake.max_open_files,
        compression=lake.compression,
    )


def endpoints(config: WorkerConfig) -> list[str]:
    """Where each client of the worker connects, one line each (raises :class:`ConfigError` on a mix of emulators
    and Google's services)."""
    services = [] if config.queue else ["Pub/Sub"]
    if config.table:
        services += ["BigQuery", "BigQuery Storage Write"]
    if config.dead_letter_topic and config.queue:
        services.append("Pub/Sub")
    lines: list[str] = []
    if services:  # the gcp clients are imported only when a Google service is used
        from streamlake_fast.endpoints import check_endpoints

        lines = check_endpoints(services, allow_mixed=config.allow_mixed_endpoints)
    if config.queue or config.dead_letter_queue:
        lines.append(_sqs_endpoint())
    return lines


def _sqs_endpoint() -> str:
    from streamlake_fast.aws.client import SqsClient

    return SqsClient().describe()


@dataclass
class Destinations:
    """Where decoded events go: the codec, the sinks, the dead-letter destination and the schema watch."""

    codec: Codec
    sinks: list[Sink]
    dead_letter: Sink
    schema_watch: SchemaWatch | None


def build_destinations(config: WorkerConfig) -> Destinations:
    """The codec and every destination for ``config`` (the worker's, and the push handler's)."""
    data_schema, full = _schemas(config)
    codec = Codec(
        data_schema,
        unknown_fields=config.codec.unknown_fields,
        max_message_bytes=config.codec.max_message_bytes,
        max_depth=config.codec.max_depth,
        redact_values=config.codec.redact_values,
    )
    sinks: list[Sink] = []
    if full is not None:
        from streamlake_fast.sinks.bigquery import BigQuerySink

        has_metadata = len(full.to_bigquery()) != len(data_schema.to_bigquery())
        sinks.append(BigQuerySink(config.table, mode=config.mode, schema=full.to_arrow() if has_metadata else None))
    if config.lake.root:
        sinks.append(lake_sink(config, data_schema))
    return Destinations(codec, sinks, _dead_letter(config), _schema_watch(config, full))


def build_worker(config: WorkerConfig) -> Worker:
    """A ready-to-run worker for ``config`` (raises :class:`ConfigError` on anything inconsistent)."""
    config.validate()
    endpoints(config)
    d = build_destinations(config)
    source = _source(config)
    log.info("worker: %s → %s, dead letters → %s", source.name, ", ".join(s.name for s in d.sinks),
             d.dead_letter.name)  # fmt: skip
    return Worker(
        source,
        d.sinks,
        d.codec,
        dead_letter=d.dead_letter,
        max_rows=config.batch.max_rows,
        max_bytes=config.batch.max_bytes,
        max_latency=config.batch.max_latency,
        progress_interval=config.progress_interval,
        exit_when_drained=config.exit_when_drained,
        metrics_port=config.metrics_port,
        metrics_address=config.metrics_address,
        shutdown_timeout=config.shutdown_timeout,
        schema_watch=d.schema_watch,
    )


def _schema_watch(config: WorkerConfig, full: Schema | None) -> SchemaWatch | None:
    update = config.schema_update
    if full is None or update.mode == "off":
        return None
    types_from = Schema.from_bigquery(update.types_from).to_bigquery() if update.types_from else None
    return SchemaWatch(
        config.table,
        full,
        fetch=partial(table_schema, config.table),
        interval=update.check_interval,
        add_columns=update.mode == "add_columns",
        relax_required=update.relax_required,
        inference=Inference(
            types_from,
            update.numbers,
            update.objects,
            max_new_columns=update.max_new_columns,
            max_columns=update.max_columns,
        ),
    )
