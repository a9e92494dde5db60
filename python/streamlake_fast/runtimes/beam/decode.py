"""``DecodeEvents``: Pub/Sub messages in, Arrow record batches and dead-letter records out — one
:meth:`Codec.decode <streamlake_fast.Codec.decode>` call per batch, as in the worker.

Batching: an unbounded input (Pub/Sub) is keyed with one key and grouped across bundles by
``GroupIntoBatches.WithShardedKey`` (``max_batch_size`` messages or ``max_batch_duration_secs``, whichever first).
``BatchElements`` batches within a bundle only — streaming bundles often hold one message — and its cross-bundle
form keys everything on one shared key, which one worker then processes alone; a sharded key lets the runner
(Dataflow) split the key's load over as many workers as it needs. A bounded input (a batch job) has large bundles,
so ``BatchElements`` with a fixed size batches it without the state and timers a grouping costs per element.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from streamlake_fast.codec.codec import Codec
from streamlake_fast.codec.envelope import Dictionary, load_dictionaries
from streamlake_fast.codec.messages import METADATA_SCHEMA
from streamlake_fast.codec.schema import Schema
from streamlake_fast.destinations.model import Destinations
from streamlake_fast.destinations.split import Splitter
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.messages import NAMESPACE, Keyed, keyed, messages_of, stamped
from streamlake_fast.runtimes.beam.routed import REJECTS, VALID, DecodeRoutes
from streamlake_fast.runtimes.beam.schemas import SchemaLike, fields_of
from streamlake_fast.sinks.deadletter.record import dead_letter_records

__all__ = ["REJECTS", "VALID", "DecodeEvents", "messages_of"]


class _Decode(beam.DoFn):  # type: ignore[misc]
    def __init__(
        self,
        fields: list[Any],
        options: dict[str, Any],
        source: str,
        metadata: Sequence[str],
        dictionaries: Sequence[bytes] = (),
    ) -> None:
        self._fields = fields
        self._dictionaries = list(dictionaries)  # shipped with the DoFn: the workers need no files
        self._options = options
        self._source = source
        self._metadata = list(metadata)
        self._codec: Codec | None = None
        self._events = Metrics.counter(NAMESPACE, "events")
        self._rows = Metrics.counter(NAMESPACE, "rows")
        self._rejects = Metrics.counter(NAMESPACE, "rejects")
        self._batches = Metrics.distribution(NAMESPACE, "batch_size")

    def setup(self) -> None:
        for data in self._dictionaries:
            Dictionary.of(data)
        self._codec = Codec(Schema.from_bigquery(self._fields), **self._options)

    def process(self, batch: Iterable[Keyed]) -> Iterator[Any]:
        assert self._codec is not None
        messages = messages_of(list(batch))
        result = self._codec.decode(messages, metadata=self._metadata, source=self._source)
        self._events.inc(len(messages))
        self._batches.update(len(messages))
        self._rows.inc(result.batch.num_rows)
        if result.batch.num_rows:
            yield result.batch
        if result.rejects:
            self._rejects.inc(len(result.rejects))
            for r in result.rejects:
                Metrics.counter(NAMESPACE, f"rejects_{r.code}").inc()
            records = dead_letter_records(messages, result.rejects, source=self._source,
                                          schema_fingerprint=self._codec.schema.fingerprint)  # fmt: skip
            for record in records.to_pylist():
                yield TaggedOutput(REJECTS, record)


class DecodeEvents(beam.PTransform):  # type: ignore[misc]
    """Validate Pub/Sub messages (``bytes`` or ``PubsubMessage``) against ``schema`` and build Arrow batches.

    Returns a tagged result: ``result.valid`` — ``pyarrow.RecordBatch`` es of the valid events, with the metadata
    columns (``subscription_name`` = ``source``, ``message_id``, ``publish_time``, ``attributes``) after the event
    columns; ``result.rejects`` — one dead-letter record per rejected message (a dict: ``data``, ``attributes``,
    ``reason_code``, ``path``, ``message``, ``schema_fingerprint``, ... — the worker's record).

    With ``routes`` (a :class:`~streamlake_fast.destinations.Destinations` with routes, or a templated table or
    lake), each batch is split by route and template values and each group decoded with its route's codec:
    ``result.valid`` holds ``(Destination, RecordBatch)`` pairs — the table and lake path each row goes to — for
    :class:`WriteToBigQueryArrow` and :class:`WriteToLake` without a fixed table or root, and ``result.rejects``
    ``(DeadLetter, record)`` pairs (``no_route``, ``invalid_destination`` and the codec's codes) for
    :class:`WriteDeadLetters` without a fixed destination. The codec options are then the routes' (``codec``).

    :param schema: a :class:`~streamlake_fast.Schema`, BigQuery JSON fields, or a path to a schema file (with
        ``routes``: the schema of every route that names none; optional when each route has one or a table).
    :param max_batch_size: messages per decode call at most.
    :param max_batch_duration_secs: the longest a message waits for its batch to fill.
    :param envelope_dictionaries: zstd dictionary files envelopes may be compressed with, read here and shipped
        with the transform (the workers need no copy; with ``routes``, the routes' ``codec.envelope_dictionaries``
        are read on each worker).
    """

    def __init__(
        self,
        schema: SchemaLike | None = None,
        *,
        routes: Destinations | None = None,
        unknown_fields: Literal["reject", "ignore"] | None = None,
        max_message_bytes: int | None = None,
        max_depth: int | None = None,
        max_batch_size: int = 10_000,
        max_batch_duration_secs: float = 1.0,
        source: str = "beam",
        metadata: Sequence[str] = tuple(METADATA_SCHEMA.names),
        envelope_dictionaries: Sequence[str | Path] = (),
    ) -> None:
        super().__init__()
        self._dictionaries = [d.data for d in load_dictionaries(envelope_dictionaries)]
        self._fields = fields_of(schema) if schema is not None else None
        options = {"unknown_fields": unknown_fields, "max_message_bytes": max_message_bytes, "max_depth": max_depth}
        self._options: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        self._routes = routes
        if routes is not None:
            if self._options:
                raise ConfigError(f"with routes, set {', '.join(self._options)} in the routes' codec options")
            events = Schema.from_bigquery(self._fields) if self._fields is not None else None
            Splitter(routes, events=events)  # the routes are checked here, at pipeline construction
        elif self._fields is None:
            raise ConfigError("DecodeEvents needs a schema (or routes)")
        else:
            Codec(Schema.from_bigquery(self._fields), **self._options)  # bad options fail here
        if max_batch_size < 1 or max_batch_duration_secs <= 0:
            raise ConfigError("max_batch_size must be ≥ 1 and max_batch_duration_secs > 0")
        self._max_batch_size = max_batch_size
        self._max_batch_duration = max_batch_duration_secs
        self._source = source
        self._metadata = list(metadata)

    def expand(self, messages: beam.PCollection) -> Any:
        decode: beam.DoFn
        if self._routes is not None:
            decode = DecodeRoutes(self._routes, self._fields, self._source, self._metadata)
        else:
            assert self._fields is not None
            decode = _Decode(self._fields, self._options, self._source, self._metadata, self._dictionaries)
        if messages.is_bounded:
            size = self._max_batch_size
            batches = (
                messages
                | "Stamp" >> beam.Map(stamped)
                | "Batch" >> beam.BatchElements(min_batch_size=size, max_batch_size=size)
            )
        else:
            batches = (
                messages
                | "Key" >> beam.Map(keyed).with_output_types(beam.typehints.Tuple[int, beam.typehints.Any])
                | "Batch" >> beam.GroupIntoBatches.WithShardedKey(self._max_batch_size, self._max_batch_duration)
                | "Values" >> beam.Values()
            )
        return batches | "Decode" >> beam.ParDo(decode).with_outputs(REJECTS, main=VALID)
