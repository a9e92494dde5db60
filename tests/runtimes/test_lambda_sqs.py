"""The Lambda handler for SQS event source mappings, driven with events built from real ``ReceiveMessage`` answers
of moto's server: rows in the lake, rejects dead-lettered, ``batchItemFailures`` naming only what failed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from streamlake_fast.aws import sqs_handler
from streamlake_fast.local.generate import RECEIPT_SCHEMA, receipts
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)


def _lambda_event(sqs: Any, n: int, invalid_fraction: float, groups: int = 0) -> tuple[dict[str, Any], list[Any]]:  # noqa: F811
    """Send ``n`` receipts to a new queue (FIFO with ``groups`` message groups) and receive them as Lambda's
    poller would; the event it would pass."""
    name, attributes = f"lambda-{uuid.uuid4().hex[:8]}", {}
    if groups:
        name, attributes = f"{name}.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    pairs = list(receipts(n, seed=11, invalid_fraction=invalid_fraction))
    for i in range(0, n, 10):
        fifo = [{"MessageGroupId": f"g{(i + j) % groups}"} if groups else {} for j in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": m.decode(), "MessageAttributes": {"shop": {"DataType": "String",
                                                                                      "StringValue": "s1"}},
             **fifo[j]}
            for j, (m, _) in enumerate(pairs[i : i + 10])])  # fmt: skip
    records = lambda_records(sqs, url)
    by_body = {m.decode(): kind for m, kind in pairs}
    return {"Records": records}, [by_body[r["body"]] for r in records]


def lambda_records(sqs: Any, url: str) -> list[dict[str, Any]]:  # noqa: F811
    """Every message of the queue ``url``, received as Lambda's poller would, as the records it would pass."""
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records = []
    receive = {"QueueUrl": url, "MaxNumberOfMessages": 10, "AttributeNames": ["All"],
               "MessageAttributeNames": ["All"], "VisibilityTimeout": 600}  # fmt: skip
    while batch := sqs.receive_message(**receive).get("Messages"):
        records += [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                     "attributes": m["Attributes"], "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
                     "eventSourceARN": arn, "awsRegion": "us-east-1",
                     "messageAttributes": {k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
                                           for k, v in m.get("MessageAttributes", {}).items()}}
                    for m in batch]  # fmt: skip
    return records


def test_a_batch_lands_in_the_lake_and_rejects_in_files(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    event, kinds = _lambda_event(sqs, 400, 0.05)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    handler = sqs_handler(schema=schema, lake=str(tmp_path / "lake"), partition_by="event_time")
    assert handler(event, None) == {"batchItemFailures": []}
    table = ds.dataset(tmp_path / "lake", format="parquet", partitioning="hive").to_table()
    valid = sorted(json.loads(r["body"])["event_id"] for r, k in zip(event["Records"], kinds, strict=True) if k is None)
    assert sorted(table.column("event_id").to_pylist()) == valid
    ids = {r["messageId"] for r, k in zip(event["Records"], kinds, strict=True) if k is None}
    assert set(table.column("message_id").to_pylist()) == ids
    rejects = [json.loads(line) for f in (tmp_path / "lake" / "_rejects").rglob("*.ndjson")
               for line in f.read_text().splitlines()]  # fmt: skip
    assert len(rejects) == sum(k is not None for k in kinds) == 20
    assert {r["subscription_name"] for r in rejects} == {event["Records"][0]["eventSourceARN"]}
    assert all(r["attributes"] == {"shop": "s1"} for r in rejects)


def test_a_dead_letter_queue_that_fails_returns_only_the_rejected_messages(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    event, kinds = _lambda_event(sqs, 100, 0.05)
    missing = sqs.create_queue(QueueName="gone-dlq")["QueueUrl"]
    sqs.delete_queue(QueueUrl=missing)
    handler = sqs_handler(schema=_schema(tmp_path), lake=str(tmp_path / "lake"),
                          dead_letter_queue=missing)  # fmt: skip
    answer = handler(event, None)
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    assert failed == {r["messageId"] for r, k in zip(event["Records"], kinds, strict=True) if k is not None}
    assert len(failed) == 5
    table = ds.dataset(tmp_path / "lake", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 95  # the valid rows are in the lake: their messages are deleted


def test_on_a_fifo_queue_a_failed_message_holds_back_its_groups_later_messages(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    """The dead-letter queue fails: on a FIFO queue the rejected messages come back with every later message of
    their message group (deleting those would break the group's order); other groups' messages are deleted."""
    event, kinds = _lambda_event(sqs, 30, 0.2, groups=3)  # FIFO receives return each group whole: 10 per group
    missing = sqs.create_queue(QueueName="gone-dlq-fifo")["QueueUrl"]
    sqs.delete_queue(QueueUrl=missing)
    handler = sqs_handler(schema=_schema(tmp_path), lake=str(tmp_path / "lake"), dead_letter_queue=missing)
    failed = {f["itemIdentifier"] for f in handler(event, None)["batchItemFailures"]}
    records = event["Records"]
    first: dict[str, int] = {}
    for i, (r, k) in enumerate(zip(records, kinds, strict=True)):
        if k is not None:
            first.setdefault(r["attributes"]["MessageGroupId"], i)
    group = [r["attributes"]["MessageGroupId"] for r in records]
    want = {r["messageId"] for i, r in enumerate(records) if group[i] in first and i >= first[group[i]]}
    assert first and failed == want
    assert any(kinds[i] is None for i, r in enumerate(records) if r["messageId"] in failed)  # valid ones held back
    assert len(failed) < len(records)


def test_a_sink_that_fails_returns_the_whole_batch(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    import os

    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(endpoint_override=os.environ["AWS_ENDPOINT_URL"], allow_bucket_creation=True,
                           allow_bucket_deletion=True)  # fmt: skip
    bucket = f"lambda-{uuid.uuid4().hex[:8]}"
    fs.create_dir(bucket)
    handler = sqs_handler(schema=_schema(tmp_path), lake=f"s3://{bucket}/x")
    first, _ = _lambda_event(sqs, 20, 0.0)
    assert handler(first, None) == {"batchItemFailures": []}
    fs.delete_dir_contents(bucket)
    fs.delete_dir(bucket)  # the lake's bucket is gone: nothing of the next batch can be written
    event, _ = _lambda_event(sqs, 30, 0.0)
    answer = handler(event, None)
    assert {f["itemIdentifier"] for f in answer["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}


def _schema(tmp_path: Path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(RECEIPT_SCHEMA))
    return path


def test_a_record_with_an_unreadable_sent_timestamp_is_named(tmp_path: Path) -> None:
    from streamlake_fast.exceptions import DecodeError

    handler = sqs_handler(schema=_schema(tmp_path), lake=str(tmp_path / "lake"))
    record = {"messageId": "m-7", "body": "{}", "attributes": {"SentTimestamp": "soon"}, "messageAttributes": {},
              "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}  # fmt: skip
    with pytest.raises(DecodeError, match=r"record m-7: SentTimestamp 'soon' is not a number"):
        handler({"Records": [record]}, None)


def test_a_routed_handler_writes_each_record_to_its_prefix(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    """Routes in the Lambda handler: a lake prefix per message attribute and currency, rejects under the lake."""
    from streamlake_fast.destinations import Destinations
    from streamlake_fast.destinations.options import LakeConfig

    event, kinds = _lambda_event(sqs, 300, 0.05)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(RECEIPT_SCHEMA))
    lake = tmp_path / "lake"
    d = Destinations(schema=str(schema), lake=LakeConfig(root=f"{lake}/{{attributes.shop}}/{{field.currency}}"))
    assert sqs_handler(destinations=d)(event, None) == {"batchItemFailures": []}
    valid = [json.loads(r["body"]) for r, k in zip(event["Records"], kinds, strict=True) if k is None]
    for currency in {e["currency"] for e in valid}:
        table = ds.dataset(lake / "s1" / currency, format="parquet", partitioning="hive").to_table()
        assert sorted(table.column("event_id").to_pylist()) == sorted(
            e["event_id"] for e in valid if e["currency"] == currency)  # fmt: skip
    rejects = [json.loads(line) for f in (lake / "_rejects").rglob("*.ndjson") for line in f.read_text().splitlines()]
    assert len(rejects) == 15
