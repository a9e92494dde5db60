"""The one destination model from each runtime: a dead-letter destination a runtime did not offer before is built
the same way (push → an SQS queue, Lambda → files under another root), over real servers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from streamlake_fast.aws import sqs_handler
from streamlake_fast.destinations import Destinations
from streamlake_fast.push import writer
from streamlake_fast.runtimes.push.writer import PushDelivery
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)

SCHEMA = [{"name": "id", "type": "STRING", "mode": "REQUIRED"}, {"name": "n", "type": "INT64"}]


def _envelope(data: bytes, i: int) -> bytes:
    message = {"data": base64.b64encode(data).decode(), "attributes": {"till": str(i)}, "messageId": f"m-{i}",
               "publishTime": "2026-12-07T10:00:00Z"}  # fmt: skip
    return json.dumps({"message": message, "subscription": "projects/p/subscriptions/push"}).encode()


def test_push_dead_letters_to_an_sqs_queue(sqs: Any, tmp_path: Path) -> None:  # noqa: F811
    """Push allowed a topic or a table for its rejects; now every destination kind, an SQS queue here."""
    queue = sqs.create_queue(QueueName="push-dlq")["QueueUrl"]
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA))
    w = writer(lake=str(tmp_path / "lake"), schema=str(schema), dead_letter_queue=queue)
    try:
        answers = w.write(
            [PushDelivery(_envelope(b'{"id": "a", "n": 1}', 0)), PushDelivery(_envelope(b'{"id": 7}', 1))]
        )
    finally:
        w.close()
    assert answers == [(204, ""), (204, "")]
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert [json.loads(m["Body"])["data"] for m in got] == ['{"id": 7}']
    record = json.loads(got[0]["Body"])
    assert (record["reason_code"], record["path"], record["message_id"]) == ("type_mismatch", "id", "m-1")


def test_lambda_dead_letters_to_files_under_their_own_root(tmp_path: Path) -> None:
    """The Lambda handler with the whole description given, rejects as files away from the lake."""
    d = Destinations.of(lake=str(tmp_path / "lake"), dead_letter_dir=str(tmp_path / "dead"))
    handler = sqs_handler(schema=SCHEMA, destinations=d)
    records = [{"messageId": f"m-{i}", "receiptHandle": "h", "body": body, "attributes": {}, "messageAttributes": {},
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}
               for i, body in enumerate(['{"id": "a"}', '{"id": "b", "n": "x"}'])]  # fmt: skip
    assert handler({"Records": records}, None) == {"batchItemFailures": []}
    dead = [json.loads(line) for f in (tmp_path / "dead" / "_rejects").rglob("*.ndjson")
            for line in f.read_text().splitlines()]  # fmt: skip
    assert [(r["message_id"], r["reason_code"]) for r in dead] == [("m-1", "invalid_value")]
    assert not (tmp_path / "lake" / "_rejects").exists()
