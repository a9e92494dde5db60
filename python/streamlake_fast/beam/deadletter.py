"""``WriteDeadLetters``: rejects and refused rows to the worker's dead-letter destinations (a Pub/Sub topic, a
``<table>_rejects`` BigQuery table or NDJSON files under the lake), written by the worker's own sinks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from streamlake_fast.beam.bigquery import RETRY
from streamlake_fast.beam.decode import NAMESPACE
from streamlake_fast.sinks.base import Sink
from streamlake_fast.sinks.deadletter import DEAD_LETTER_SCHEMA, DeadLetterFiles, DeadLetterTable, DeadLetterTopic

__all__ = ["WriteDeadLetters"]


def _sink(kind: str, where: str) -> Sink:
    if kind == "topic":
        return DeadLetterTopic(where)
    if kind == "table":
        return DeadLetterTable(where)
    return DeadLetterFiles(where)


class _Write(beam.DoFn):  # type: ignore[misc]
    def __init__(self, kind: str, where: str) -> None:
        self._kind = kind
        self._where = where
        self._sink: Sink | None = None
        self._records: list[dict[str, Any]] = []
        self._written = Metrics.counter(NAMESPACE, "dead_letters")

    def setup(self) -> None:
        self._sink = _sink(self._kind, self._where)

    def start_bundle(self) -> None:
        self._records = []

    def process(self, record: dict[str, Any]) -> Iterator[Any]:
        # Nothing comes out (Beam 2.78 refuses a DoFn whose process is annotated to return None).
        self._records.append(record)
        return iter(())

    def finish_bundle(self) -> None:
        # One write per bundle, durable before the runner commits the bundle.
        if not self._records:
            return
        assert self._sink is not None
        sink, batch = self._sink, pa.RecordBatch.from_pylist(self._records, schema=DEAD_LETTER_SCHEMA)
        RETRY.call(lambda: sink.write(batch), what=sink.name)
        RETRY.call(sink.flush, what=sink.name)
        self._written.inc(batch.num_rows)
        self._records = []

    def teardown(self) -> None:
        if self._sink is not None:
            self._sink.close()


class WriteDeadLetters(beam.PTransform):  # type: ignore[misc]
    """Write dead-letter records (:class:`DecodeEvents`' ``rejects``, :class:`WriteToBigQueryArrow`'s refused rows)
    to exactly one of: ``topic`` (``projects/P/topics/T``: the original data and attributes plus the reason as
    attributes), ``table`` (``project.dataset.table``, created when missing) or ``root`` (NDJSON files under
    ``<root>/_rejects``)."""

    def __init__(self, *, topic: str | None = None, table: str | None = None, root: str | None = None) -> None:
        super().__init__()
        given = [(k, v) for k, v in (("topic", topic), ("table", table), ("files", root)) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of topic, table, root")
        self._kind, self._where = given[0]

    def expand(self, records: beam.PCollection) -> Any:
        return records | "Write" >> beam.ParDo(_Write(self._kind, self._where))
