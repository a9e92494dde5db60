"""Routed decoding for Beam: one stream of many event types split by the routes of a
:class:`~streamlake_fast.destinations.Destinations` (the worker's :class:`~streamlake_fast.destinations.split.Splitter`,
in Rust), each group decoded with its route's codec. Valid rows come out keyed by their :class:`Destination` — the
table and lake path the route's templates give them — and the write transforms take them as Beam's dynamic
destinations do; dead-letter records come out keyed by their route's dead-letter destination."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from streamlake_fast.codec.codec import Codec
from streamlake_fast.codec.schema import Schema
from streamlake_fast.destinations.build import codec_of, resolve_schema
from streamlake_fast.destinations.model import DeadLetter, Destinations
from streamlake_fast.destinations.split import Group, Splitter
from streamlake_fast.runtimes.beam.messages import NAMESPACE, Keyed, messages_of
from streamlake_fast.sinks.deadletter.record import dead_letter_records

__all__ = ["REJECTS", "VALID", "DecodeRoutes", "Destination"]

#: The output tags of the decoding transforms.
VALID = "valid"
REJECTS = "rejects"

#: Destinations whose codec (and table schema) a decoding worker keeps.
KEEP = 4096


class Destination(NamedTuple):
    """Where a routed batch goes: its route, the table (``""``: none) and lake root (``""``: none) its templates
    gave, the lake's partitioning column, and where the rows a sink refuses go."""

    route: str
    table: str
    lake: str
    partition_by: str | None
    dead_letter: DeadLetter


class DecodeRoutes(beam.DoFn):  # type: ignore[misc]
    """Split each batch by route and template values, decode each group with its route's codec; emit
    ``(Destination, RecordBatch)`` and, tagged :data:`REJECTS`, ``(DeadLetter, record)``."""

    def __init__(self, d: Destinations, fields: list[Any] | None, source: str, metadata: Sequence[str]) -> None:
        self._d = d
        self._fields = fields
        self._source = source
        self._metadata = list(metadata)
        self._split: Splitter | None = None
        self._open: OrderedDict[tuple[str, tuple[str, ...]], tuple[Codec, Destination]] = OrderedDict()
        self._events = Metrics.counter(NAMESPACE, "events")
        self._rows = Metrics.counter(NAMESPACE, "rows")
        self._rejects = Metrics.counter(NAMESPACE, "rejects")
        self._batches = Metrics.distribution(NAMESPACE, "batch_size")

    def setup(self) -> None:
        events = Schema.from_bigquery(self._fields) if self._fields else None
        self._split = Splitter(self._d, events=events)

    def _destination(self, group: Group) -> tuple[Codec, Destination]:
        """The group's codec and destination: the route's templates filled, its table created when asked and its
        columns read — once per destination this worker has seen recently."""
        key = group.key
        found = self._open.get(key)
        if found is not None:
            self._open.move_to_end(key)
            return found
        assert group.plan is not None
        plan = group.plan
        d = plan.destination(key[1])
        _, events = resolve_schema(d, plan.events)
        where = Destination(key[0], d.table, d.lake.root, d.lake.partition_by, plan.dead)
        found = self._open[key] = (codec_of(d, events), where)
        if len(self._open) > KEEP:
            self._open.popitem(last=False)
        return found

    def process(self, batch: Iterable[Keyed]) -> Iterator[Any]:
        split = self._split
        assert split is not None
        messages = messages_of(list(batch))
        self._events.inc(len(messages))
        self._batches.update(len(messages))
        for group in split.groups(messages):
            route = group.plan.route.name if group.plan is not None else "no_route"
            Metrics.counter(NAMESPACE, f"route_{route}_events").inc(len(group.messages))
            if group.dead:
                rejects, fingerprint = split.rejected(group), ""
            else:
                codec, where = self._destination(group)
                result = codec.decode(group.messages, metadata=self._metadata, source=self._source)
                rejects, fingerprint = result.rejects, codec.schema.fingerprint
                self._rows.inc(result.batch.num_rows)
                Metrics.counter(NAMESPACE, f"route_{route}_rows").inc(result.batch.num_rows)
                if result.batch.num_rows:
                    yield where, result.batch
            if not rejects:
                continue
            self._rejects.inc(len(rejects))
            dead = split.dead_letter_of(group)
            records = dead_letter_records(group.messages, rejects, source=self._source, schema_fingerprint=fingerprint)
            for r, record in zip(rejects, records.to_pylist(), strict=True):
                Metrics.counter(NAMESPACE, f"rejects_{r.code}").inc()
                yield TaggedOutput(REJECTS, (dead, record))
