"""The lake on an object store: the same worker and sink with an ``s3://`` root, against a local S3 server."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from streamlake_fast import Codec
from streamlake_fast.codec.codec import Reject
from streamlake_fast.codec.messages import Messages
from streamlake_fast.exceptions import SinkError, TransientSinkError
from streamlake_fast.local.generate import receipt_schema, receipts
from streamlake_fast.sinks.deadletter import DeadLetterFiles
from streamlake_fast.sinks.deadletter.record import dead_letter_records
from streamlake_fast.sinks.lake import LakeSink, lake_schema, verify_lake
from streamlake_fast.sources.memory import MemorySource
from streamlake_fast.transports import storage
from streamlake_fast.transports.storage import Root
from streamlake_fast.worker import Worker
from tests.servers.aws import s3_server  # noqa: F401 (fixture)
from tests.servers.tcp_proxy import TcpProxy
from tests.sinks.lake.helpers import lake_batch


def _objects(root: str) -> list[str]:
    """The data objects under ``root`` (not the schema history, written when a schema is first used)."""
    fs, path = pafs.FileSystem.from_uri(root)
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    return sorted(i.path for i in infos if i.type == pafs.FileType.File and "/_schemas/" not in i.path)


def test_lake_on_s3_uploads_whole_files_only_once_rolled(s3_server: str) -> None:  # noqa: F811
    root = f"{s3_server}/receipts"
    schema = receipt_schema()
    pairs = list(receipts(6000, seed=9, invalid_fraction=0.01))
    batches = [[m for m, _ in pairs[i : i + 1000]] for i in range(0, 6000, 1000)]
    # Before a roll the rows sit in the local spool: the bucket shows nothing of them.
    early = LakeSink(f"{s3_server}/early", schema=lake_schema(schema.to_arrow()), max_file_age=600)
    early.write(lake_batch(schema, batches[0], 1, 1_795_000_000_000_000))
    assert _objects(f"{s3_server}/early") == [] and early.durable_batches == 0
    early.flush()
    assert early.durable_batches == 1 and len(_objects(f"{s3_server}/early")) == 1
    early.close()

    sink = LakeSink(root, schema=lake_schema(schema.to_arrow()), partition_by="event_time", max_file_age=600)
    source = MemorySource(batches)
    worker = Worker(source, [sink], Codec(schema), dead_letter=DeadLetterFiles(root), exit_when_drained=True,
                    progress_interval=60)  # fmt: skip
    stats = worker.run()
    assert stats.acked == 6000 and source.nacked == 0
    valid = sum(kind is None for _, kind in pairs)
    report = verify_lake(root)
    assert (report.rows, report.duplicate_ids, report.temporary_files) == (valid, 0, [])
    assert all(o.endswith((".parquet", ".ndjson")) and "/." not in o for o in _objects(root))
    fs, path = pafs.FileSystem.from_uri(root)
    table = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("event_id").to_pylist()) == sorted(
        json.loads(m)["event_id"] for m, kind in pairs if kind is None
    )
    assert any("/_rejects/" in o for o in _objects(root))


def test_an_upload_that_fails_is_retried_and_the_batch_waits(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    schema = receipt_schema()
    direct = f"{s3_server}/outage"
    proxy = TcpProxy(os.environ["AWS_ENDPOINT_URL"].removeprefix("http://"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{proxy.host}")
    sink = LakeSink(direct, schema=lake_schema(schema.to_arrow()), max_file_age=600)
    sink.write(lake_batch(schema, [m for m, _ in receipts(500, seed=2)], 1, 1_795_000_000_000_000))
    proxy.cut()
    with pytest.raises(TransientSinkError):
        sink.flush()
    assert sink.durable_batches == 0
    proxy.restore()
    deadline = time.monotonic() + 30
    while sink.durable_batches == 0:
        assert time.monotonic() < deadline
        time.sleep(0.5)
        with contextlib.suppress(TransientSinkError):
            sink.poll()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{proxy.target[0]}:{proxy.target[1]}")
    assert verify_lake(direct).rows == 500 and len(_objects(direct)) == 1
    proxy.close()


def test_an_upload_interrupted_midway_leaves_nothing_at_the_final_key(
    s3_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Closing an S3 stream completes its upload even after an error: the upload goes to a hidden temporary key,
    deleted when the copy is interrupted, and the object appears at its final key only by a move."""
    root = Root(f"{s3_server}/interrupted")
    spool = tmp_path / "part.parquet"
    spool.write_bytes(os.urandom(3 << 20))
    final = f"{root.path}/dt=2026-11-26/part.parquet"

    def half_then_interrupt(src: BinaryIO, dst: pa.NativeFile) -> None:
        dst.write(src.read(1 << 20))
        raise KeyboardInterrupt

    copy = storage._copy
    monkeypatch.setattr(storage, "_copy", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        root.publish(spool, final)
    assert _objects(f"{s3_server}/interrupted") == []
    assert spool.exists()  # kept for the retry
    monkeypatch.setattr(storage, "_copy", copy)
    assert root.publish(spool, final) == 3 << 20
    assert _objects(f"{s3_server}/interrupted") == [final]


def test_a_missing_bucket_is_a_permanent_error_not_an_endless_retry(s3_server: str) -> None:  # noqa: F811
    schema = receipt_schema()
    sink = LakeSink(f"{s3_server}/gone", schema=lake_schema(schema.to_arrow()), max_file_age=600)
    sink.write(lake_batch(schema, [m for m, _ in receipts(100, seed=4)], 1, 1_795_000_000_000_000))
    fs = pafs.S3FileSystem(endpoint_override=os.environ["AWS_ENDPOINT_URL"], allow_bucket_deletion=True)
    bucket = s3_server.removeprefix("s3://")
    fs.delete_dir_contents(bucket)
    fs.delete_dir(bucket)
    with pytest.raises(SinkError, match="NO_SUCH_BUCKET") as raised:
        sink.flush()
    assert not isinstance(raised.value, TransientSinkError)
    assert sink.durable_batches == 0
    files = DeadLetterFiles(s3_server)
    with pytest.raises(SinkError, match="NO_SUCH_BUCKET") as raised:
        files.write(dead_letter_records(Messages.from_data([b"x"]), [Reject(0, "invalid_json", "", "bad")],
                                        source="s", schema_fingerprint="f"))  # fmt: skip
    assert not isinstance(raised.value, TransientSinkError)
    sink.close()
    files.close()


def test_credentials_in_a_lake_uri_are_never_printed(s3_server: str, tmp_path: Path) -> None:  # noqa: F811
    """``s3://KEY:SECRET@bucket/prefix`` works as pyarrow reads it, and neither the sink's name (the start banner,
    every error) nor a refusal shows the secret."""
    from streamlake_fast.exceptions import ConfigError
    from streamlake_fast.transports.storage import shown_uri

    bucket = s3_server.removeprefix("s3://")
    endpoint = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")
    root = f"s3://test:SeCrEt-42@{bucket}/lake?endpoint_override={endpoint}&scheme=http"
    sink = LakeSink(root, schema=lake_schema(receipt_schema().to_arrow()), spool_dir=str(tmp_path / "spool"))
    assert "SeCrEt-42" not in sink.name and "SeCrEt-42" not in repr(sink) and "***@" in sink.name
    assert "SeCrEt-42" not in DeadLetterFiles(root).name
    assert shown_uri("s3://bucket/x") == "s3://bucket/x"
    with pytest.raises(ConfigError) as e:
        LakeSink("s3://test:SeCrEt-42@bucket/x?scheme=bogus-scheme", schema=lake_schema(receipt_schema().to_arrow()))
    assert "SeCrEt-42" not in str(e.value)
