"""``WriteToLake``: Parquet files in the worker's lake layout (Hive ``dt=`` partitions, whole-file visibility), so a
Beam pipeline and a worker can feed the same lake and ``streamlake lake verify`` reads both."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from streamlake_fast.codec.messages import METADATA_SCHEMA
from streamlake_fast.codec.schema import Schema
from streamlake_fast.exceptions import ConfigError
from streamlake_fast.runtimes.beam.messages import NAMESPACE, RETRY, Open
from streamlake_fast.runtimes.beam.routed import Destination
from streamlake_fast.runtimes.beam.schemas import SchemaLike, fields_of
from streamlake_fast.sinks.base import select_columns
from streamlake_fast.sinks.lake import LakeSink, lake_schema

__all__ = ["WriteToLake"]


class _WriteFiles(beam.DoFn):  # type: ignore[misc]
    def __init__(self, root: str | None, fields: list[Any] | None, options: dict[str, Any], max_open: int) -> None:
        self._root = root
        self._fields = fields
        self._options = options
        self._max_open = max_open
        self._lakes: Open[LakeSink] | None = None
        self._events: pa.Schema | None = None
        self._rows = Metrics.counter(NAMESPACE, "lake_rows")
        self._files = Metrics.counter(NAMESPACE, "lake_files")

    def setup(self) -> None:
        self._lakes = Open(self._open, lambda s: s, self._max_open)
        if self._fields is not None:
            self._events = Schema.from_bigquery(self._fields).to_arrow()

    def _open(self, key: Hashable) -> LakeSink:
        assert isinstance(key, tuple)
        root, partition_by, events = key
        return LakeSink(root, schema=lake_schema(events), **{**self._options, "partition_by": partition_by})

    def process(self, element: Any) -> Iterator[Any]:
        assert self._lakes is not None
        if self._root is None:
            where, batch = element
            assert isinstance(where, Destination)
            if not where.lake:
                return iter(())
            # the route's event columns: the batch's, less the message's metadata
            events = pa.schema([f for f in batch.schema if f.name not in METADATA_SCHEMA.names])
            sink = self._lakes.get((where.lake, where.partition_by, events))
        else:
            batch = element
            sink = self._lakes.get((self._root, self._options["partition_by"], self._events))
        rows = select_columns(batch, sink.schema)
        RETRY.call(lambda: sink.write(rows), what=sink.name)
        return iter(())

    def finish_bundle(self) -> None:
        # Every file holding the bundle's rows is visible before the runner commits the bundle (and, on Dataflow,
        # acknowledges its Pub/Sub messages).
        assert self._lakes is not None
        for sink in self._lakes.values():
            before_rows, before_files = sink.rows_written, sink.files_written
            RETRY.call(sink.flush, what=sink.name)
            self._rows.inc(sink.rows_written - before_rows)
            self._files.inc(sink.files_written - before_files)

    def teardown(self) -> None:
        if self._lakes is not None:
            self._lakes.close()


class WriteToLake(beam.PTransform):  # type: ignore[misc]
    """Write :class:`~streamlake_fast.runtimes.beam.DecodeEvents`' batches under ``root`` (a path, ``gs://…`` or ``s3://…``)
    as the worker's lake does: the event columns plus ``message_id`` and ``publish_time``, one directory per UTC
    date of ``partition_by`` (else of ``publish_time``).

    Files become visible when each bundle finishes — one file per partition per bundle at most (bundles follow
    :class:`DecodeEvents`' batches: raise ``max_batch_size``/``max_batch_duration_secs`` for bigger files);
    a file larger than ``target_file_bytes`` rolls sooner.

    Without ``root`` and ``schema``, the input is routed :class:`DecodeEvents`' ``(Destination, RecordBatch)``
    pairs: each batch goes under its destination's lake path (none: skipped), partitioned by its route's column,
    ``max_open`` lake writers open at most per worker (the least recently used flushed and closed first).
    """

    def __init__(
        self,
        root: str | None = None,
        schema: SchemaLike | None = None,
        *,
        partition_by: str | None = None,
        target_file_bytes: int = 128 << 20,
        compression: str = "zstd",
        max_open: int = 64,
    ) -> None:
        super().__init__()
        if (root is None) != (schema is None):
            raise ConfigError("give both root and schema, or neither (routed input)")
        if max_open < 1:
            raise ConfigError(f"max_open must be ≥ 1, got {max_open}")
        self._root = root
        self._fields = fields_of(schema) if schema is not None else None
        self._max_open = max_open
        self._options: dict[str, Any] = {"partition_by": partition_by, "target_file_bytes": target_file_bytes,
                         "compression": compression, "max_file_age": 3600.0}  # fmt: skip
        if root is not None and self._fields is not None:
            events = lake_schema(Schema.from_bigquery(self._fields).to_arrow())
            LakeSink(root, schema=events, **self._options).close()  # bad settings fail here

    def expand(self, batches: beam.PCollection) -> Any:
        write = _WriteFiles(self._root, self._fields, self._options, self._max_open)
        return batches | "WriteFiles" >> beam.ParDo(write)
