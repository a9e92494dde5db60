"""SQS on the wire: the SigV4 signer against botocore's, received messages read in Rust from a real moto
``ReceiveMessage`` answer, the batch requests and results."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from streamlake_fast.aws import SqsClient
from streamlake_fast.codec.messages import Messages
from streamlake_fast.transports.aws.wire import batch_failures, batch_requests, send_batch_requests, sigv4_headers
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//token"])
def test_sigv4_headers_equal_botocores(token: str | None) -> None:
    """Ours signs the same request at botocore's own timestamp (the X-Amz-Date it chose) to the same header."""
    body = b'{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "MaxNumberOfMessages": 10}'
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ReceiveMessage"}
    request = AWSRequest("POST", "https://sqs.eu-west-1.amazonaws.com/", data=body, headers=headers)
    SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), "sqs",
              "eu-west-1").add_auth(request)  # fmt: skip
    stamp = request.headers["X-Amz-Date"]
    ours = dict(sigv4_headers(("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), "eu-west-1",
                              "sqs", "sqs.eu-west-1.amazonaws.com", "/",
                              [(k.lower(), v) for k, v in headers.items()], body, stamp))  # fmt: skip
    assert ours["x-amz-date"] == stamp
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours.get("x-amz-security-token") == token


def test_received_messages_are_read_with_their_metadata(sqs: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="wire-read")["QueueUrl"]
    events = [json.dumps({"n": i, "text": f'caf\u00e9 "{i}"\n'}) for i in range(13)]
    for i in range(0, 13, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": e, "MessageAttributes": {"shop": {"DataType": "String", "StringValue": "s"},
                                                                   "n": {"DataType": "Number", "StringValue": "7"}}}
            for j, e in enumerate(events[i : i + 10])])  # fmt: skip
    client = SqsClient()
    request = {"QueueUrl": url, "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"],
               "MessageSystemAttributeNames": ["All"], "VisibilityTimeout": 60}  # fmt: skip
    bodies = [client.call("ReceiveMessage", json.dumps(request).encode()) for _ in range(3)]
    messages = Messages.from_sqs(bodies)
    assert len(messages) == 13
    got = sorted((messages.message(i) for i in range(13)), key=lambda m: json.loads(m.data)["n"])
    assert [m.data.decode() for m in got] == events  # the bodies unescaped exactly
    expected = [json.loads(b) for b in bodies]
    ids = {m["MessageId"]: m for doc in expected for m in doc.get("Messages", [])}
    for m in got:
        raw = ids[m.message_id]
        assert m.attributes == {"shop": "s", "n": "7"}
        assert m.publish_time is not None
        assert int(m.publish_time.timestamp() * 1000) == int(raw["Attributes"]["SentTimestamp"])
        assert m.delivery_attempt == int(raw["Attributes"]["ApproximateReceiveCount"]) == 1
    # Delete them all with the batch requests built in Rust: the queue is then empty.
    for request_body in batch_requests(messages, url):
        ok, failed = batch_failures(client.call("DeleteMessageBatch", request_body))
        assert failed == [] and ok <= 10
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def test_a_batch_entry_sqs_refuses_is_reported_with_its_position(sqs: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="wire-refuse")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    client = SqsClient()
    body = client.call("ReceiveMessage", json.dumps({"QueueUrl": url, "MaxNumberOfMessages": 10}).encode())
    bogus = json.dumps({"Messages": [{"MessageId": "m-0", "ReceiptHandle": "not-a-handle", "Body": "{}"}]})
    messages = Messages.from_sqs([bogus.encode(), body])
    [request] = batch_requests(messages, url)
    ok, failed = batch_failures(client.call("DeleteMessageBatch", request))
    assert ok == 1
    assert [(f.index, f.sender_fault, f.code) for f in failed] == [(0, True, "ReceiptHandleIsInvalid")]


def test_send_batches_stay_within_sqs_limits(sqs: Any) -> None:  # noqa: F811
    url = sqs.create_queue(QueueName="wire-send")["QueueUrl"]
    entries = [(json.dumps({"n": i, "pad": "x" * (i * 50)}), [("k", "v")], None, None) for i in range(25)]
    requests = send_batch_requests(url, entries, 4000)
    assert sum(n for _, n in requests) == 25 and all(n <= 10 for _, n in requests)
    client = SqsClient()
    for body, n in requests:
        ok, failed = batch_failures(client.call("SendMessageBatch", body))
        assert (ok, failed) == (n, [])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "25"


def test_errors_name_the_queue_problem(sqs: Any) -> None:  # noqa: F811
    from streamlake_fast.aws import AwsError

    client = SqsClient()
    missing = sqs.create_queue(QueueName="wire-err")["QueueUrl"].replace("wire-err", "no-such-queue")
    with pytest.raises(AwsError) as raised:
        client.call("ReceiveMessage", json.dumps({"QueueUrl": missing}).encode())
    assert raised.value.code.endswith("QueueDoesNotExist") and not raised.value.retryable
