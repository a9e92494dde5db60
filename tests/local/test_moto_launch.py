"""The patched moto server (``streamlake_fast.local.moto_launch``) answers as the unpatched one does: the same
scenario — sends, receives with visibility timeouts, visibility changes, deletes, counts, receive counts, redrive
and FIFO groups — run on both, the answers compared (ids and receipt handles aside)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamlake_fast.local import LocalServer, _wait_for_port, free_port, start_moto


@pytest.fixture
def servers() -> Iterator[tuple[LocalServer, LocalServer]]:
    try:
        patched = start_moto()
    except Exception as e:  # reported as the fixtures do
        if __import__("os").environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="moto-plain-"))
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    plain = LocalServer(proc, f"127.0.0.1:{port}", workdir)
    _wait_for_port(port, proc, 30, log)
    yield patched, plain
    patched.stop()
    plain.stop()


def _scenario(host: str) -> list[Any]:
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://{host}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    out: list[Any] = []

    def counts(url: str) -> tuple[str, ...]:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return tuple(attrs[n] for n in names)

    def receive(url: str, n: int = 10, visibility: int = 30) -> list[dict[str, Any]]:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=n,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        out.append(
            [
                (
                    m["Body"],
                    m.get("MessageAttributes"),
                    m["Attributes"]["ApproximateReceiveCount"],
                    m["Attributes"].get("MessageGroupId"),
                )
                for m in got
            ]
        )
        return got

    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="main", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for i in range(0, 25, 5):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(j),
                    "MessageBody": f"m{i + j}",
                    "DelaySeconds": 0 if i else 1,
                    "MessageAttributes": {"k": {"DataType": "String", "StringValue": str(i + j)}},
                }
                for j in range(5)
            ],
        )
    out.append(counts(url))  # five delayed
    first = receive(url, visibility=1)
    out.append(counts(url))
    sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for k, m in enumerate(first[:3])
        ],
    )
    out.append(counts(url))
    second = receive(url)
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(second[:4])]
    )
    out.append(counts(url))
    time.sleep(1.5)  # the first receive's visibility lapses; the delay ends
    out.append(counts(url))
    for _ in range(4):  # receive counts grow; past maxReceiveCount, redrive moves messages to the dead-letter queue
        receive(url, visibility=0)
    out.append((counts(url), counts(dlq)))
    out.append(sorted(m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])))

    fifo = sqs.create_queue(
        QueueName="order.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for i in range(6):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"f{i}", MessageGroupId=f"g{i % 2}")
    sqs.send_message(QueueUrl=fifo, MessageBody="f0", MessageGroupId="g0")  # a duplicate: dropped
    held = receive(fifo, n=2)
    receive(fifo)  # the groups in flight give nothing more
    sqs.delete_message_batch(
        QueueUrl=fifo, Entries=[{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(held)]
    )
    receive(fifo)
    out.append(counts(fifo))
    return out


def test_the_patched_server_answers_as_the_unpatched_one(servers: tuple[LocalServer, LocalServer]) -> None:
    patched, plain = servers
    assert _scenario(patched.host) == _scenario(plain.host)
