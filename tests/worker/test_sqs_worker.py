"""SQS → worker → the lake on S3 (and BigQuery), end to end on moto's server and bqemulator: the same worker and
sinks as for Pub/Sub, one acknowledgement (DeleteMessageBatch) once every sink holds a message durably."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from streamlake_fast.local.generate import INVALID_KINDS, RECEIPT_SCHEMA, receipts
from streamlake_fast.sinks.lake import verify_lake
from tests.servers.aws import BUCKET, moto_server, sqs  # noqa: F401 (fixtures)
from tests.servers.fixtures import Cloud, bigquery_server  # noqa: F401 (fixtures)
from tests.servers.processes import Server
from tests.servers.tcp_proxy import TcpProxy
from tests.worker.helpers import expected_rows, table_rows

#: The end-to-end run's size (the kill test sends a tenth of it).
EVENTS = int(os.environ.get("STREAMLAKE_SQS_EVENTS", "50000"))


def _send(sqs: Any, url: str, pairs: list[tuple[bytes, str | None]]) -> None:  # noqa: F811
    def send(i: int) -> None:
        entries = [{"Id": str(j), "MessageBody": m.decode("utf-8", "replace"),
                    "MessageAttributes": {"source": {"DataType": "String", "StringValue": "test"}}}
                   for j, (m, _) in enumerate(pairs[i : i + 10])]  # fmt: skip
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(0, len(pairs), 10)))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streamlake_fast.cli", "run", "--exit-when-drained", "--wait-time", "1",
               "--progress-interval", "2", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=dict(os.environ))


def _lake_table(root: str) -> Any:
    fs, path = pafs.FileSystem.from_uri(root)
    return ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table()


def _queue_empty(sqs: Any, url: str) -> bool:  # noqa: F811
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def _difference(got: Any, want: Any) -> tuple[str, int]:
    """A short account of how ``got``'s event ids differ from ``want``'s: (missing and extra ids, a few of each;
    duplicate rows). Comparing 50,000-row lists directly makes pytest diff them for hours."""
    got_ids, want_ids = got.column("event_id").to_pylist(), set(want.column("event_id").to_pylist())
    missing, extra = sorted(want_ids - set(got_ids)), sorted(set(got_ids) - want_ids)
    text = f"missing {len(missing)} {missing[:5]}, extra {len(extra)} {extra[:5]}" if missing or extra else ""
    return text, len(got_ids) - len(set(got_ids))


COMPARED = ["event_id", "event_time", "customer_id", "store_id", "currency", "total", "coupon", "items"]


@pytest.mark.slow
def test_sqs_to_the_s3_lake_and_bigquery_lands_exactly_the_valid_events(
    sqs: Any,  # noqa: F811
    bigquery_server: Server,  # noqa: F811
    tmp_path: Any,
    monkeypatch: Any,
) -> None:
    cloud = Cloud("", bigquery_server.host, bigquery_server.extra_host, uuid.uuid4().hex[:8])
    for k, v in cloud.env.items():
        if v:
            monkeypatch.setenv(k, v)
    bq_table = cloud.create_table(RECEIPT_SCHEMA)
    url = sqs.create_queue(QueueName=f"e2e-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    pairs = list(receipts(EVENTS, seed=5, invalid_fraction=0.01))
    _send(sqs, url, pairs)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    root = f"s3://{BUCKET}/sqs-{uuid.uuid4().hex[:8]}"
    done = _run("--queue", url, "--lake", root, "--table", bq_table, "--schema", str(schema),
                "--partition-by", "event_time", "--max-file-age", "5", "--max-rows", "10000")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SQS: local server at http://" in done.stderr  # the endpoint in use, said at start

    want = expected_rows(pairs).select(COMPARED).sort_by("event_id")
    assert want.num_rows == EVENTS - EVENTS // 100
    # Contents, not counts: every valid event is there with its values, nothing else is, and with no fault nothing
    # is written twice (21 rows of 50,000 were, before moto's concurrent deletes were made safe and leases kept
    # while a file's deletes go out).
    lake = _lake_table(root).select(COMPARED).sort_by("event_id")
    missing_or_extra, lake_duplicates = _difference(lake, want)
    assert missing_or_extra == "", f"lake: {missing_or_extra}"
    assert lake_duplicates == 0
    assert lake.equals(want)
    warehouse = table_rows(cloud, bq_table).select(COMPARED).sort_by("event_id")
    missing_or_extra, table_duplicates = _difference(warehouse, want)
    assert missing_or_extra == "", f"table: {missing_or_extra}"
    assert table_duplicates == 0
    assert warehouse.cast(want.schema).equals(want)
    ack_lag = re.search(r"ack lag max ([\d,]+) ms", done.stdout + done.stderr)
    print(f"SQS end to end, {EVENTS:,} receipts: 0 missing, 0 duplicate rows; "
          f"ack lag max {ack_lag.group(1) if ack_lag else '?'} ms")  # fmt: skip
    rejects = table_rows(cloud, f"{bq_table}_rejects")  # with a table, dead letters go to <table>_rejects
    bad = [(m, kind) for m, kind in pairs if kind is not None]
    # None may be missing or unexplained.
    got = list(zip(rejects.column("data").to_pylist(), rejects.column("reason_code").to_pylist(), strict=True))
    want_rejects = [(m, INVALID_KINDS[k]) for m, k in bad]
    assert not Counter(want_rejects) - Counter(got), "dead letters missing"  # 500: a diff stays cheap
    assert sorted(got) == sorted(want_rejects)
    assert set(rejects.column("subscription_name").to_pylist()) == {url}
    assert _queue_empty(sqs, url)


@pytest.mark.slow  # ~25-40 s: run by make test-slow and CI
def test_s3_down_longer_than_the_visibility_timeout_the_worker_waits_and_nothing_comes_back(
    sqs: Any,  # noqa: F811
    tmp_path: Any,
) -> None:
    """The lake's S3 is cut for 20 s while messages wait for their file, with a 12 s visibility timeout: the worker
    retries the upload, extension keeps every waiting message invisible (no second delivery, so no duplicate row),
    and once S3 is back every valid event lands and the queue empties. (moto extends ~700 messages a second while it
    serves the receives, fewer on a loaded machine: with a 4 s timeout, 2,900 messages held at once came back now
    and then, and with 6 s once in a CI run that ran slow.)"""
    url = sqs.create_queue(QueueName=f"s3down-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    pairs = list(receipts(3000, seed=9, invalid_fraction=0.01))
    _send(sqs, url, pairs[:100])  # the rest is sent once S3 is down
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    root = f"s3://{BUCKET}/s3down-{uuid.uuid4().hex[:8]}"
    proxy = TcpProxy(os.environ["AWS_ENDPOINT_URL"].removeprefix("http://"))
    command = [sys.executable, "-m", "streamlake_fast.cli", "run", "--wait-time", "1", "--progress-interval", "1",
               "--queue", url, "--lake", root, "--schema", str(schema), "--visibility-timeout", "12",
               "--max-file-age", "1"]  # fmt: skip
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": f"http://{proxy.host}"}
    worker = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(worker.stderr or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any(line.startswith("[worker]") for line in lines):  # started: the lake root was checked
            assert worker.poll() is None and time.monotonic() < deadline, "".join(lines[-20:])
            time.sleep(0.1)
        proxy.cut()
        _send(sqs, url, pairs[100:])
        time.sleep(20)
        assert worker.poll() is None, "".join(lines[-60:])  # waiting, not failed
        proxy.restore()
        deadline = time.monotonic() + 120
        while not _queue_empty(sqs, url):
            assert worker.poll() is None and time.monotonic() < deadline, "".join(lines[-20:])
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        worker.kill()
        proxy.close()
    stderr = "".join(lines)
    assert worker.returncode == 0, stderr[-3000:]
    assert "sink retries 0" not in stderr  # the outage was seen and waited out
    landed = _lake_table(root).column("event_id").to_pylist()
    valid = [json.loads(m)["event_id"] for m, kind in pairs if kind is None]
    assert set(landed) == set(valid), f"missing {sorted(set(valid) - set(landed))[:5]}"
    assert sorted(landed) == sorted(valid), f"landed twice: {[i for i, n in Counter(landed).items() if n > 1][:5]}"
    assert verify_lake(root).duplicate_ids == 0
    assert _queue_empty(sqs, url)


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
    url = sqs.create_queue(QueueName=f"kill-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    pairs = list(receipts(EVENTS // 10, seed=6, invalid_fraction=0.01))
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
    while acked() < EVENTS // 50:
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
    assert _queue_empty(sqs, url)


def test_a_routed_sqs_stream_lands_each_type_in_its_s3_prefix(sqs: Any) -> None:  # noqa: F811
    """Four types on one queue (a ``type`` message attribute), each to its prefix of the lake on S3; the unknown
    type dead-lettered ``no_route``; the queue empty at the end."""
    from streamlake_fast.local.mixed import MIXED_SCHEMAS, MIXED_TYPES, UNKNOWN_TYPE, mixed_events

    url = sqs.create_queue(QueueName=f"routed-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    events = mixed_events(800, invalid_fraction=0.02, unknown_fraction=0.02, seed=5)
    for i in range(0, len(events), 10):
        entries = [{"Id": str(j), "MessageBody": e.data.decode(),
                    "MessageAttributes": {"type": {"DataType": "String", "StringValue": e.type}}}
                   for j, e in enumerate(events[i : i + 10])]  # fmt: skip
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
    root = f"s3://{BUCKET}/routed-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        lines = [f'queue = "{url}"', f'lake = {{ root = "{root}", max_file_age = 2 }}', ""]
        for kind in MIXED_TYPES:
            path = os.path.join(tmp, f"{kind}.json")
            with open(path, "w") as f:
                json.dump(MIXED_SCHEMAS[kind], f)
            lines += ["[[routes]]", f'name = "{kind}"', 'attribute = "type"', f'value = "{kind}"', f'schema = "{path}"']
        config = os.path.join(tmp, "routes.toml")
        with open(config, "w") as f:
            f.write("\n".join(lines))
        done = _run("--config", config)
    assert done.returncode == 0, done.stderr[-3000:]
    for kind in MIXED_TYPES:
        want = sorted(e.data for e in events if e.type == kind and e.valid)
        assert _lake_table(f"{root}/{kind}").num_rows == len(want), kind
    assert f"route receipt: {sum(e.type == 'receipt' for e in events):,} events" in done.stderr
    fs, path = pafs.FileSystem.from_uri(f"{root}/_rejects")
    files = [f.path for f in fs.get_file_info(pafs.FileSelector(path, recursive=True)) if f.path.endswith(".ndjson")]
    dead = [json.loads(line) for p in files for line in fs.open_input_stream(p).read().decode().splitlines()]
    assert Counter(r["reason_code"] for r in dead) == {"no_route": sum(e.type == UNKNOWN_TYPE for e in events),
                                                       "unknown_field": sum(not e.valid and e.type != UNKNOWN_TYPE
                                                                            for e in events)}  # fmt: skip
    assert _queue_empty(sqs, url)
