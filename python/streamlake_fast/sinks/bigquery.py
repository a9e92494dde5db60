"""BigQuery through the Storage Write API with Arrow rows.

``mode="default"`` appends to the table's ``_default`` stream (at-least-once). ``mode="committed"`` creates a
COMMITTED stream and appends with explicit offsets, so an append retried after a lost response is refused by
BigQuery as already written (``ALREADY_EXISTS``) instead of being written twice. Every request names its stream
and stays under the 10 MB request limit.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import grpc
import pyarrow as pa
from google.api_core import exceptions as gexc

from streamlake_fast.endpoints import RETRYABLE_CODES, bigquery_write_client, is_retryable, status_code
from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.names import parse_table
from streamlake_fast.sinks.base import WriteIsDurable

__all__ = ["BigQuerySink"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 9_000_000  # BigQuery's limit is 10 MB per AppendRows request
_ALREADY_EXISTS = 6  # google.rpc.Code


class BigQuerySink(WriteIsDurable):
    """Append Arrow batches to ``project.dataset.table``."""

    def __init__(
        self,
        table: str,
        *,
        mode: Literal["default", "committed"] = "default",
        client: Any | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        timeout: float = 60.0,
        schema: pa.Schema | None = None,
    ) -> None:
        if mode not in ("default", "committed"):
            raise ConfigError(f'mode must be "default" or "committed", got {mode!r}')
        project, dataset, name = parse_table(table)
        self.name = f"bigquery:{project}.{dataset}.{name}"
        self.mode = mode
        self._client = client or bigquery_write_client()
        self._parent = self._client.table_path(project, dataset, name)
        self._max_bytes = max_request_bytes
        self._timeout = timeout
        self._stream: str | None = None
        self._offset = 0
        self.schema = schema  # the table's columns when it has Pub/Sub metadata columns
        self.rows_written = 0
        self.duplicates_avoided = 0  # rows of a retried append a committed stream refused as already written
        self.requests = 0  # AppendRows requests sent

    def _stream_name(self) -> str:
        if self._stream is None:
            if self.mode == "default":
                self._stream = f"{self._parent}/streams/_default"
            else:
                from google.cloud.bigquery_storage_v1 import types

                ws = self._call(
                    lambda: self._client.create_write_stream(
                        parent=self._parent,
                        write_stream=types.WriteStream(type_=types.WriteStream.Type.COMMITTED),
                        timeout=self._timeout,
                    )
                )
                self._stream = str(ws.name)
                self._offset = 0
        return self._stream

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except (gexc.GoogleAPICallError, grpc.RpcError) as e:
            if is_retryable(e) or isinstance(e, grpc.RpcError):  # raw channel errors: the connection, retry
                raise TransientSinkError(f"{self.name}: {e}") from e
            raise SinkError(f"{self.name}: {e}") from e

    def _chunks(self, batch: pa.RecordBatch) -> list[pa.RecordBatch]:
        """Slices of ``batch`` whose serialized size stays under the request limit."""
        if batch.num_rows == 0:
            return []
        size = batch.nbytes
        if size <= self._max_bytes:
            return [batch]
        per_row = size / batch.num_rows
        rows = max(1, int(self._max_bytes * 0.9 / per_row))
        return [batch.slice(i, rows) for i in range(0, batch.num_rows, rows)]

    def write(self, batch: pa.RecordBatch) -> None:
        """Append ``batch``; returns once BigQuery has committed it."""

        schema = batch.schema.serialize().to_pybytes()
        start = self._offset
        try:
            self._write_chunks(batch, schema)
        except SinkError:
            # A retry re-sends the whole batch from the same offset: chunks already written are then refused as
            # ALREADY_EXISTS on a committed stream rather than written twice.
            self._offset = start
            raise
        self._written()

    def _write_chunks(self, batch: pa.RecordBatch, schema: bytes) -> None:
        from google.cloud.bigquery_storage_v1 import types

        for chunk in self._chunks(batch):
            # The raw protobuf message, wrapped: proto-plus would copy the serialized batch once more.
            pb = types.AppendRowsRequest.pb()(write_stream=self._stream_name())
            pb.arrow_rows.writer_schema.serialized_schema = schema
            pb.arrow_rows.rows.serialized_record_batch = chunk.serialize().to_pybytes()
            pb.arrow_rows.rows.row_count = chunk.num_rows
            if self.mode == "committed":
                pb.offset.value = self._offset
            request = types.AppendRowsRequest.wrap(pb)
            responses = self._call(lambda req=request: self._append(req))
            self._check(responses, chunk.num_rows)
            self._offset += chunk.num_rows
            self.requests += 1

    def _append(self, request: Any) -> list[Any]:
        return list(self._client.append_rows(iter([request]), timeout=self._timeout))

    def _check(self, responses: list[Any], rows: int) -> None:
        if not responses:
            raise TransientSinkError(f"{self.name}: append got no response")
        written = True
        for r in responses:
            if r.error and r.error.code:
                code, message = int(r.error.code), str(r.error.message)
                if code == _ALREADY_EXISTS and self.mode == "committed":
                    log.info("%s: offset %d already written (a retried append)", self.name, self._offset)
                    self.duplicates_avoided += rows
                    written = False
                    continue
                if status_code(code) in RETRYABLE_CODES:
                    raise TransientSinkError(f"{self.name}: append failed ({code}): {message}")
                raise SinkError(f"{self.name}: append of {rows} rows refused ({code}): {message}")
            for row_error in getattr(r, "row_errors", []) or []:
                raise SinkError(f"{self.name}: row {row_error.index} refused: {row_error.message}")
        if written:
            self.rows_written += rows

    def close(self) -> None:
        if self.mode == "committed" and self._stream is not None:
            try:
                self._client.finalize_write_stream(name=self._stream, timeout=self._timeout)
            except gexc.GoogleAPICallError as e:
                log.warning("%s: finalize failed: %s", self.name, e)
            self._stream = None

    def __repr__(self) -> str:
        return f"BigQuerySink({self.name!r}, mode={self.mode!r})"
