"""BigQuery through the Storage Write API with Arrow rows.

``mode="default"`` appends to the table's ``_default`` stream (at-least-once). ``mode="committed"`` creates a
COMMITTED stream and appends with explicit offsets, so an append retried after a lost response is refused by
BigQuery as already written (``ALREADY_EXISTS``) instead of being written twice. Every request names its stream
and stays under the 10 MB request limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from streamlake_fast.exceptions import ConfigError, SinkError, TransientSinkError
from streamlake_fast.extras import needs_extra
from streamlake_fast.sinks.base import Refusal, WriteIsDurable
from streamlake_fast.transports.gcp.channels import RETRYABLE_CODES, bigquery_write_client, is_retryable, status_code
from streamlake_fast.transports.gcp.wire import append_rows_request
from streamlake_fast.transports.names import parse_table

with needs_extra():  # the gcp extra
    import grpc
    from google.api_core import exceptions as gexc
    from google.api_core.gapic_v1 import routing_header

__all__ = ["BigQuerySink", "request_pieces"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 9_000_000  # BigQuery's limit is 10 MB per AppendRows request
#: Seconds after a change of the table's schema during which a refused append is retried, not fatal: Storage
#: Write streams see new columns only after a while (BigQuery documents minutes).
SCHEMA_PROPAGATION = 600.0
_ALREADY_EXISTS = 6  # google.rpc.Code
_APPEND_ROWS = "/google.cloud.bigquery.storage.v1.BigQueryWrite/AppendRows"


Piece = tuple[int, pa.RecordBatch, "pa.Buffer | None"]


def request_pieces(batch: pa.RecordBatch, max_bytes: int) -> Iterator[Piece]:
    """``(first row, rows, serialized)`` slices of ``batch`` in order, each serialized in at most ``max_bytes``
    whatever the sizes of its rows (a slice over it is halved until it fits); a single row over the limit comes
    with ``None``."""
    if batch.num_rows == 0:
        return
    per_row = max(1.0, batch.nbytes / batch.num_rows)
    step = max(1, int(max_bytes * 0.9 / per_row))  # a first guess from the average row
    for start in range(0, batch.num_rows, step):
        yield from _split(start, batch.slice(start, step), max_bytes)


def _split(start: int, rows: pa.RecordBatch, max_bytes: int) -> Iterator[Piece]:
    data = rows.serialize()
    if data.size <= max_bytes:
        yield start, rows, data
    elif rows.num_rows == 1:
        yield start, rows, None
    else:
        half = rows.num_rows // 2
        yield from _split(start, rows.slice(0, half), max_bytes)
        yield from _split(start + half, rows.slice(half), max_bytes)


@dataclass
class _Piece:
    """The rows of one AppendRows request, with their row numbers in the batch."""

    rows: pa.RecordBatch
    data: pa.Buffer | None  # serialized; None: nothing to send
    origin: list[int]

    @property
    def too_large(self) -> bool:
        """A single row over the request limit (it is never sent)."""
        return self.data is None and self.rows.num_rows == 1 and len(self.origin) == 1


@dataclass
class _Progress:
    """How far the write of ``batch`` got (a retried write resumes here)."""

    batch: pa.RecordBatch
    pieces: list[_Piece]
    done: int = 0
    refused: list[Refusal] = field(default_factory=list)


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
        self._progress: _Progress | None = None
        self._schema_changed_at: float | None = None
        self._append_call: Any = None

    def follow_schema(self, events: pa.Schema, table: pa.Schema) -> None:
        """The table gained columns: send them from now on. A committed stream is finalized (a new one sees the
        new columns); for :data:`SCHEMA_PROPAGATION` seconds a refused append is retried, never fatal."""
        if self.schema is not None:
            self.schema = table
        self._schema_changed_at = time.monotonic()
        self.close()

    def _refused(self, message: str) -> SinkError:
        """The error for an append BigQuery refused: transient while a schema change may still be propagating."""
        if self._schema_changed_at is not None:
            since = time.monotonic() - self._schema_changed_at
            if since < SCHEMA_PROPAGATION:
                return TransientSinkError(f"{message} (the table's schema changed {since:.0f} s ago; Storage Write "
                                          f"may not see the new columns yet)")  # fmt: skip
        return SinkError(message)

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
                        retry=None,
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
            raise self._refused(f"{self.name}: {e}") from e

    def write(self, batch: pa.RecordBatch) -> list[Refusal]:
        """Append ``batch``; returns once BigQuery has committed it, with the rows it refused (each too large for
        any request, or refused by BigQuery with a row error — the other rows of their request are sent again).

        A write that failed part-way resumes, when called again with the same batch, at the request that failed —
        never re-sending what was committed, and keeping the refusals found so far."""
        progress = self._progress
        if progress is None or progress.batch is not batch:
            pieces = [_Piece(rows, data, list(range(first, first + rows.num_rows)))
                      for first, rows, data in request_pieces(batch, self._max_bytes)]  # fmt: skip
            progress = self._progress = _Progress(batch, pieces)
        schema = batch.schema.serialize().to_pybytes()
        while progress.done < len(progress.pieces):
            piece = progress.pieces[progress.done]
            if piece.too_large:
                size = f"{piece.rows.serialize().size:,}"
                message = f"a row of {size} bytes is over the {self._max_bytes:,}-byte AppendRows limit"
                progress.refused.append(Refusal(piece.origin[0], "row_too_large", message))
            else:
                self._append_piece(schema, piece, progress.refused)
            progress.done += 1
        self._progress = None
        self._written()
        return progress.refused

    def _append_piece(self, schema: bytes, piece: _Piece, refused: list[Refusal]) -> None:
        """Append one request's rows. Rows BigQuery refuses are recorded and left out of the piece, and the rest
        appended again (a retry after a failure then re-sends only the rest)."""
        while piece.data is not None:
            row_errors = self._append_rows(schema, piece.rows, piece.data)
            if not row_errors:
                return
            refused += [Refusal(piece.origin[i], "refused_by_sink", f"{self.name}: {m}")
                        for i, m in sorted(row_errors.items())]  # fmt: skip
            keep = [i for i in range(piece.rows.num_rows) if i not in row_errors]
            piece.rows = piece.rows.take(pa.array(keep, pa.int64()))
            piece.origin = [piece.origin[i] for i in keep]
            piece.data = piece.rows.serialize() if keep else None
            if not keep:
                piece.origin = []

    def _append_rows(self, schema: bytes, rows: pa.RecordBatch, data: pa.Buffer) -> dict[int, str]:
        """One AppendRows request; returns BigQuery's row errors (then nothing of the request was written)."""
        stream = self._stream_name()
        offset = self._offset if self.mode == "committed" else None
        request = append_rows_request(stream, offset, schema, rows.num_rows, data)
        responses = self._call(lambda: self._append(stream, request))
        row_errors = self._check(responses, rows.num_rows)
        self.requests += 1
        if not row_errors:
            self._offset += rows.num_rows
        return row_errors

    def _append(self, stream: str, request: bytes) -> list[Any]:
        # The request's bytes as they are (the client's own call would build a protobuf object holding the batch and
        # serialize it again). retry=None in effect: the worker's retry policy (transient vs permanent, backoff,
        # abort at shutdown) is the only one. The routing header is the one the client sends.
        if self._append_call is None:
            from google.cloud.bigquery_storage_v1 import types

            channel = self._client.transport.grpc_channel
            self._append_call = channel.stream_stream(
                _APPEND_ROWS, request_serializer=None, response_deserializer=types.AppendRowsResponse.deserialize
            )
        metadata = [routing_header.to_grpc_metadata((("write_stream", stream),))]  # type: ignore[no-untyped-call]
        try:
            return list(self._append_call(iter([request]), timeout=self._timeout, metadata=metadata))
        except grpc.RpcError as e:
            raise gexc.from_grpc_error(e) from e  # type: ignore[no-untyped-call]

    def _check(self, responses: list[Any], rows: int) -> dict[int, str]:
        """Raise on a failed append; return BigQuery's row errors (row index → message), if any."""
        if not responses:
            raise TransientSinkError(f"{self.name}: append got no response")
        written = True
        row_errors: dict[int, str] = {}
        for r in responses:
            for row_error in getattr(r, "row_errors", []) or []:
                row_errors[int(row_error.index)] = str(row_error.message)
            if row_errors:
                continue
            if r.error and r.error.code:
                code, message = int(r.error.code), str(r.error.message)
                if code == _ALREADY_EXISTS and self.mode == "committed":
                    log.info("%s: offset %d already written (a retried append)", self.name, self._offset)
                    self.duplicates_avoided += rows
                    written = False
                    continue
                if status_code(code) in RETRYABLE_CODES:
                    raise TransientSinkError(f"{self.name}: append failed ({code}): {message}")
                raise self._refused(f"{self.name}: append of {rows} rows refused ({code}): {message}")
        if written and not row_errors:
            self.rows_written += rows
        return row_errors

    def close(self) -> None:
        if self.mode == "committed" and self._stream is not None:
            try:
                self._client.finalize_write_stream(name=self._stream, timeout=10.0, retry=None)
            except (gexc.GoogleAPICallError, grpc.RpcError) as e:  # the rows are committed already
                log.warning("%s: finalize failed: %s", self.name, e)
            self._stream = None

    def __repr__(self) -> str:
        return f"BigQuerySink({self.name!r}, mode={self.mode!r})"
