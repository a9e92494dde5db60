"""SQS → worker → the lake on S3, end to end on moto's server: the same worker and sinks as for Pub/Sub, one
acknowledgement (DeleteMessageBatch) once the lake file holding a message is visible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pyarrow.dataset as ds
import pyarrow.fs as pafs

from streamlake_fast.generate import RECEIPT_SCHEMA, receipts
from streamlake_fast.sinks.lake import verify_lake
from tests.servers.aws import BUCKET, moto_server, sqs  # noqa: F401 (fixtures)

EVENTS = int(os.environ.get("STREAMLAKE_SQS_EVENTS", "5000"))


def _send(sqs: Any, url: str, pairs: list[tuple[bytes, str | None]]) -> None:  # noqa: F811
    for i in range(0, len(pairs), 10):
        entries = [{"Id": str(j), "MessageBody": m.decode("utf-8", "replace"),
                    "MessageAttributes": {"source": {"DataType": "String", "StringValue": "test"}}}
                   for j, (m, _) in enumerate(pairs[i : i + 10])]  # fmt: skip
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streamlake_fast.cli", "run", "--exit-when-drained", "--wait-time", "1",
               "--progress-interval", "2", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=dict(os.environ))


def test_sqs_to_the_s3_lake_lands_exactly_the_valid_events(sqs: Any, tmp_path: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName=f"e2e-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    pairs = list(receipts(EVENTS, seed=5, invalid_fraction=0.01))
    _send(sqs, url, pairs)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    root = f"s3://{BUCKET}/sqs-{uuid.uuid4().hex[:8]}"
    done = _run("--queue", url, "--lake", root, "--schema", str(schema), "--partition-by", "event_time",
                "--max-file-age", "5")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SQS: local server at http://" in done.stderr  # the endpoint in use, said at start

    fs, path = pafs.FileSystem.from_uri(root)
    table = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table()
    valid = sorted(json.loads(m)["event_id"] for m, kind in pairs if kind is None)
    assert sorted(table.column("event_id").to_pylist()) == valid  # every valid event once, nothing else
    assert verify_lake(root).duplicate_ids == 0
    rejects = [json.loads(line) for info in fs.get_file_info(pafs.FileSelector(f"{path}/_rejects", recursive=True))
               if info.type == pafs.FileType.File
               for line in fs.open_input_stream(info.path).read().decode().splitlines()]  # fmt: skip
    assert len(rejects) == sum(kind is not None for _, kind in pairs)
    assert all(r["reason_code"] and r["subscription_name"] == url and r["attributes"] == {"source": "test"}
               for r in rejects)  # fmt: skip
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def test_dead_letters_to_an_sqs_queue_keep_the_whole_record(sqs: Any, tmp_path: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName=f"dlsrc-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    pairs = list(receipts(300, seed=8, invalid_fraction=0.05))
    huge = b'{"event_id": "' + b"x" * 300_000 + b'", "unknown": 1}'  # over the DLQ's 256 KiB: cut, with its hash
    _send(sqs, url, [*pairs, (huge, "unknown_field")])
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    done = _run("--queue", url, "--lake", str(tmp_path / "lake"), "--schema", str(schema), "--dead-letter-queue", dlq,
                "--max-file-age", "2")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    letters = []
    while batch := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                       VisibilityTimeout=600).get("Messages"):  # fmt: skip
        letters += batch
    assert len(letters) == sum(kind is not None for _, kind in [*pairs, (huge, "x")])
    bodies = [json.loads(m["Body"]) for m in letters]
    by_code = {b["reason_code"] for b in bodies}
    assert by_code >= {"unknown_field", "missing_required"}
    for m, b in zip(letters, bodies, strict=True):
        attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
        assert attrs["envelope"] == "json" and attrs["reason_code"] == b["reason_code"]
        assert b["subscription_name"] == url and b["attributes"] == {"source": "test"}
        assert len(m["MessageAttributes"]) <= 10
    cut = [b for b in bodies if b.get("data_truncated")]
    assert len(cut) == 1 and cut[0]["data_size"] == len(huge)
    assert cut[0]["data_sha256"] == __import__("hashlib").sha256(huge).hexdigest()
    assert all("data" in b for b in bodies if not b.get("data_truncated"))  # the raw event, whole


def test_kill_9_mid_run_then_restart_loses_nothing(sqs: Any, tmp_path: Any) -> None:  # noqa: F811
    import signal
    import threading
    import time

    url = sqs.create_queue(QueueName=f"kill-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    pairs = list(receipts(EVENTS, seed=6, invalid_fraction=0.01))
    _send(sqs, url, pairs)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    lake = tmp_path / "lake"
    args = ("--queue", url, "--lake", str(lake), "--schema", str(schema), "--max-file-age", "1",
            "--visibility-timeout", "5", "--max-rows", "500")  # fmt: skip
    command = [sys.executable, "-m", "streamlake_fast.cli", "run", "--wait-time", "1", "--progress-interval", "0.5",
               *args]  # fmt: skip
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(first.stderr or []), daemon=True).start()

    def acked() -> int:
        for line in reversed(lines):
            if line.startswith("[worker]"):
                return int(line.split(" acked")[0].rsplit(", ", 1)[1].replace(",", ""))
        return 0

    deadline = time.monotonic() + 120
    while acked() < EVENTS // 5:
        assert first.poll() is None and time.monotonic() < deadline, "".join(lines[-20:])
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(6)  # the killed worker's visibility timeouts lapse: its messages come back
    done = _run(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    landed = table.column("event_id").to_pylist()
    valid = {json.loads(m)["event_id"] for m, kind in pairs if kind is None}
    assert set(landed) == valid  # nothing missing, nothing else
    duplicates = len(landed) - len(set(landed))
    assert verify_lake(str(lake)).duplicate_ids == duplicates
    print(f"SQS kill -9: 0 missing, {duplicates} duplicate rows (written, not yet deleted)")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
