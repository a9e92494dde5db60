"""``WriteToLake``: Parquet files in the worker's lake layout (Hive ``dt=`` partitions, whole-file visibility), so a
Beam pipeline and a worker can feed the same lake and ``streamlake lake verify`` reads both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from streamlake_fast.codec.schema import Schema
from streamlake_fast.runtimes.beam.bigquery import RETRY
from streamlake_fast.runtimes.beam.decode import NAMESPACE
from streamlake_fast.runtimes.beam.schemas import SchemaLike, fields_of
from streamlake_fast.sinks.base import select_columns
from streamlake_fast.sinks.lake import LakeSink, lake_schema

__all__ = ["WriteToLake"]


class _WriteFiles(beam.DoFn):  # type: ignore[misc]
    def __init__(self, root: str, fields: list[Any], options: dict[str, Any]) -> None:
        self._root = root
        self._fields = fields
        self._options = options
        self._sink: LakeSink | None = None
        self._rows = Metrics.counter(NAMESPACE, "lake_rows")
        self._files = Metrics.counter(NAMESPACE, "lake_files")

    def setup(self) -> None:
        schema = lake_schema(Schema.from_bigquery(self._fields).to_arrow())
        self._sink = LakeSink(self._root, schema=schema, **self._options)

    def process(self, batch: pa.RecordBatch) -> Iterator[Any]:
        assert self._sink is not None
        sink = self._sink
        rows = select_columns(batch, sink.schema)
        RETRY.call(lambda: sink.write(rows), what=sink.name)
        return iter(())

    def finish_bundle(self) -> None:
        # Every file holding the bundle's rows is visible before the runner commits the bundle (and, on Dataflow,
        # acknowledges its Pub/Sub messages).
        assert self._sink is not None
        sink = self._sink
        before_rows, before_files = sink.rows_written, sink.files_written
        RETRY.call(sink.flush, what=sink.name)
        self._rows.inc(sink.rows_written - before_rows)
        self._files.inc(sink.files_written - before_files)

    def teardown(self) -> None:
        if self._sink is not None:
            self._sink.close()


class WriteToLake(beam.PTransform):  # type: ignore[misc]
    """Write :class:`~streamlake_fast.runtimes.beam.DecodeEvents`' batches under ``root`` (a path, ``gs://…`` or ``s3://…``)
    as the worker's lake does: the event columns plus ``message_id`` and ``publish_time``, one directory per UTC
    date of ``partition_by`` (else of ``publish_time``).

    Files become visible when each bundle finishes — one file per partition per bundle at most (bundles follow
    :class:`DecodeEvents`' batches: raise ``max_batch_size``/``max_batch_duration_secs`` for bigger files);
    a file larger than ``target_file_bytes`` rolls sooner.
    """

    def __init__(
        self,
        root: str,
        schema: SchemaLike,
        *,
        partition_by: str | None = None,
        target_file_bytes: int = 128 << 20,
        compression: str = "zstd",
    ) -> None:
        super().__init__()
        self._root = root
        self._fields = fields_of(schema)
        self._options: dict[str, Any] = {"partition_by": partition_by, "target_file_bytes": target_file_bytes,
                         "compression": compression, "max_file_age": 3600.0}  # fmt: skip
        LakeSink(root, schema=lake_schema(Schema.from_bigquery(self._fields).to_arrow()), **self._options).close()

    def expand(self, batches: beam.PCollection) -> Any:
        return batches | "WriteFiles" >> beam.ParDo(_WriteFiles(self._root, self._fields, self._options))
