"""``WriteDeadLetters``: rejects and refused rows to the dead-letter destinations every runtime offers (a Pub/Sub
topic, an SQS queue, a BigQuery table or NDJSON files), written by the sinks
:func:`~streamlake_fast.destinations.build.dead_letter_sink` makes."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from streamlake_fast.destinations.build import dead_letter_sink
from streamlake_fast.destinations.model import DeadLetter, DeadLetterKind
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.messages import NAMESPACE, RETRY, Open
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA

__all__ = ["WriteDeadLetters"]


class _Write(beam.DoFn):  # type: ignore[misc]
    def __init__(self, dead: DeadLetter | None) -> None:
        self._dead = dead
        self._sinks: Open[Any] | None = None
        self._records: dict[DeadLetter, list[dict[str, Any]]] = {}
        self._written = Metrics.counter(NAMESPACE, "dead_letters")

    def setup(self) -> None:
        self._sinks = Open(self._open, lambda s: s, max_open=64)

    @staticmethod
    def _open(dead: Hashable) -> Any:
        assert isinstance(dead, DeadLetter)
        return dead_letter_sink(dead)

    def start_bundle(self) -> None:
        self._records = {}

    def process(self, element: Any) -> Iterator[Any]:
        # Nothing comes out (Beam 2.78 refuses a DoFn whose process is annotated to return None).
        dead, record = (self._dead, element) if self._dead is not None else element
        self._records.setdefault(dead, []).append(record)
        return iter(())

    def finish_bundle(self) -> None:
        # One write per destination per bundle, durable before the runner commits the bundle.
        assert self._sinks is not None
        for dead, records in self._records.items():
            sink = self._sinks.get(dead)
            batch = pa.RecordBatch.from_pylist(records, schema=DEAD_LETTER_SCHEMA)
            RETRY.call(lambda: sink.write(batch), what=sink.name)  # noqa: B023 (called at once)
            RETRY.call(sink.flush, what=sink.name)
            self._written.inc(batch.num_rows)
        self._records = {}

    def teardown(self) -> None:
        if self._sinks is not None:
            self._sinks.close()


class WriteDeadLetters(beam.PTransform):  # type: ignore[misc]
    """Write dead-letter records (:class:`DecodeEvents`' ``rejects``, :class:`WriteToBigQueryArrow`'s refused rows)
    to exactly one of: ``topic`` (``projects/P/topics/T``: the original data and attributes plus the reason as
    attributes), ``queue`` (an SQS queue URL), ``table`` (``project.dataset.table``, created when missing) or
    ``root`` (NDJSON files under ``<root>/_rejects``) — or to ``dead_letter``, a
    :class:`~streamlake_fast.destinations.DeadLetter`. Given none of them, the input is routed
    :class:`DecodeEvents`' ``(DeadLetter, record)`` pairs, each written to its destination."""

    def __init__(
        self,
        *,
        topic: str | None = None,
        queue: str | None = None,
        table: str | None = None,
        root: str | None = None,
        dead_letter: DeadLetter | None = None,
    ) -> None:
        super().__init__()
        named: list[tuple[DeadLetterKind, str | None]] = [("topic", topic), ("queue", queue), ("table", table),
                                                          ("files", root)]  # fmt: skip
        given = [DeadLetter(kind, where) for kind, where in named if where]
        given += [dead_letter] if dead_letter is not None else []
        if len(given) > 1:
            raise ConfigError("give at most one of topic, queue, table, root, dead_letter")
        self._dead = given[0] if given else None

    def expand(self, records: beam.PCollection) -> Any:
        return records | "Write" >> beam.ParDo(_Write(self._dead))
