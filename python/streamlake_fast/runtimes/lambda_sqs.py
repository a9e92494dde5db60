"""An AWS Lambda handler for SQS event source mappings: the same codec, sinks and dead letters as the worker.

``handler = sqs_handler(schema="receipts.json", lake="s3://bucket/receipts")`` at module level; each invocation
decodes the whole batch of records in one call, writes the valid rows to every sink (the lake's files are made
visible before it returns), dead-letters the rejects with their reasons, and answers ``{"batchItemFailures":
[...]}`` naming only the messages whose write failed, so Lambda deletes the rest (enable
``ReportBatchItemFailures`` on the mapping). A sink failing fails the whole batch (every message comes back, its
rows possibly written twice: at-least-once); the dead-letter destination failing fails only the rejected messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Literal

from streamlake_fast.codec.messages import Messages
from streamlake_fast.codec.schema import Schema
from streamlake_fast.destinations import Destinations
from streamlake_fast.destinations.build import build
from streamlake_fast.exceptions import DecodeError, SinkError
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sinks.deadletter.collected import CollectedDeadLetters
from streamlake_fast.transports.retry import Retry
from streamlake_fast.worker.fanout import FanOut
from streamlake_fast.worker.router import Router

__all__ = ["sqs_handler"]

log = logging.getLogger(__name__)

#: Inside one invocation: a few quick retries, then the batch (or its rejects) is reported as failed.
HANDLER_RETRY = Retry(initial=0.2, maximum=2.0, attempts=4)

Handler = Callable[[dict[str, Any], Any], dict[str, list[dict[str, str]]]]


def _messages(records: list[dict[str, Any]]) -> Messages:
    """Lambda's records as messages, given field by field (packed in Rust, nothing serialized and read again), with
    the metadata the worker's SQS reader gives: the message id, ``SentTimestamp`` as the publish time, the message
    attributes (string or binary value), the message group as the ordering key."""
    parts = []
    for r in records:
        system = r.get("attributes") or {}
        attributes = {k: v.get("stringValue") or v.get("binaryValue") or "" for k, v in
                      (r.get("messageAttributes") or {}).items()}  # fmt: skip
        try:
            sent = int(system.get("SentTimestamp") or 0) * 1000
        except ValueError:
            raise DecodeError(f"record {r['messageId']}: SentTimestamp {system['SentTimestamp']!r} is not a number") \
                from None  # fmt: skip
        parts.append((r["body"].encode(), attributes, r["messageId"], sent, system.get("MessageGroupId", "")))
    return Messages.from_parts(parts)


def _failures(records: list[dict[str, Any]], failed: list[int]) -> list[dict[str, str]]:
    """``batchItemFailures`` for the records at ``failed``; on a FIFO queue, with every later record of the same
    message group (Lambda must not delete a group's later messages before an earlier one, or the order breaks)."""
    fifo = _queue_name(records).endswith(".fifo")
    first: dict[str, int] = {}
    if fifo:
        for i in sorted(failed):
            first.setdefault(str(records[i].get("attributes", {}).get("MessageGroupId", "")), i)
    out = set(failed)
    if first:
        for i, r in enumerate(records):
            group = str(r.get("attributes", {}).get("MessageGroupId", ""))
            if group in first and i > first[group]:
                out.add(i)
    return [{"itemIdentifier": records[i]["messageId"]} for i in sorted(out)]


def _queue_name(records: list[dict[str, Any]]) -> str:
    arn = str(records[0].get("eventSourceARN", "")) if records else ""
    return arn or "lambda"


def sqs_handler(
    *,
    schema: str | Path | Schema | list[dict[str, Any]] | None = None,
    lake: str = "",
    table: str = "",
    partition_by: str | None = None,
    dead_letter_topic: str | None = None,
    dead_letter_queue: str | None = None,
    dead_letter_table: str | None = None,
    dead_letter_dir: str | None = None,
    unknown_fields: Literal["reject", "ignore"] = "reject",
    destinations: Destinations | None = None,
) -> Handler:
    """A Lambda ``handler(event, context)`` for an SQS event source mapping (see the module's description).

    Sinks: ``lake`` (a path, ``s3://`` or ``gs://`` root) and/or ``table`` (BigQuery). Dead letters, as everywhere:
    ``dead_letter_topic``, ``dead_letter_queue`` (an SQS queue URL), ``dead_letter_table`` or ``dead_letter_dir``
    (default ``<table>_rejects``, else ``<lake>/_rejects`` files). ``schema``: the events' (a file, its fields, or
    a :class:`Schema`; default the table's columns). Or give the whole ``destinations``. Clients are made at the
    first invocation and reused while the Lambda environment lives.
    """
    events = Schema.from_bigquery(schema) if isinstance(schema, list) else None
    events = schema if isinstance(schema, Schema) else events
    if destinations is None:
        file = None if schema is None or events is not None else str(schema)
        destinations = Destinations.of(table=table or "", lake=lake or "", schema=file, partition_by=partition_by,
                                       dead_letter_topic=dead_letter_topic, dead_letter_queue=dead_letter_queue,
                                       dead_letter_table=dead_letter_table, dead_letter_dir=dead_letter_dir,
                                       unknown_fields=unknown_fields)  # fmt: skip
    destinations.check(events_given=events is not None)
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def parts(source: str) -> tuple[FanOut | Router, CollectedDeadLetters | None, Sink | None]:
        """The fan-out writer, made at the first invocation and kept (its sinks count batches across calls); the
        lake's files are made visible at the end of each invocation, not by age. A routed stream's router writes
        its dead letters itself (each route's destination)."""
        with lock:
            if not state and destinations.routed:
                state.update(fanout=Router(destinations, source=source, abort=threading.Event(), retry=HANDLER_RETRY,
                                           events=events, max_file_age=3600.0), collected=None, dead=None)  # fmt: skip
            elif not state:
                built = build(destinations, events=events, max_file_age=3600.0)
                collected = CollectedDeadLetters()
                fanout = FanOut(built.codec, built.sinks, collected, source=source, abort=threading.Event(),
                                retry=HANDLER_RETRY, schema_watch=built.schema_watch)  # fmt: skip
                state.update(fanout=fanout, collected=collected, dead=built.dead_letter)
            return state["fanout"], state["collected"], state["dead"]

    def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
        records: list[dict[str, Any]] = event.get("Records", [])
        return {"batchItemFailures": _write(records, *parts(_queue_name(records))) if records else []}

    return handler


def _write(
    records: list[dict[str, Any]], fanout: FanOut | Router, collected: CollectedDeadLetters | None, dead: Sink | None
) -> list[dict[str, str]]:
    """Write one invocation's records: the ``batchItemFailures`` (none when every message is durable)."""
    messages = _messages(records).opened()
    if collected is not None:
        collected.take()
    try:
        result = fanout.write(messages)
        fanout.durable(force=True)  # the lake's files visible before Lambda deletes the messages
    except Exception as e:
        log.error("batch of %d messages not written (%s); all reported as failed", len(records), e)
        return [{"itemIdentifier": r["messageId"]} for r in records]
    if collected is None or dead is None:  # the router wrote the dead letters with the rows
        log.info("%d messages: %d rows, %d rejects", len(records), result.num_rows, len(result.rejects))
        return []
    try:
        for batch in collected.take():
            if HANDLER_RETRY.call(partial(dead.write, batch), what=dead.name):
                raise SinkError(f"{dead.name} refused dead letters")
    except Exception as e:
        log.error("%d dead letters not written (%s); their messages reported as failed", len(result.rejects), e)
        failed = {messages.message(r.index).message_id for r in result.rejects}  # an envelope's events share one
        return _failures(records, [i for i, r in enumerate(records) if r["messageId"] in failed])
    log.info("%d messages: %d rows, %d rejects", len(records), result.num_rows, len(result.rejects))
    return []
