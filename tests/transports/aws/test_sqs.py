"""The SQS source on moto's server: receive, delete only when told, visibility kept while held, handed back on a
nack, a deleted queue stops it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from streamlake_fast.exceptions import SourceError
from streamlake_fast.sources.delivery import ack_all, nack_all
from streamlake_fast.transports.aws.sqs import SqsSource
from tests.servers.aws import moto_server, sqs  # noqa: F401 (fixtures)


def _queue(sqs: Any, name: str, n: int, **attributes: str) -> str:  # noqa: F811
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    for i in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f'{{"n": {i + j}}}'}
                                                      for j in range(min(10, n - i))])  # fmt: skip
    return url


def _counts(sqs: Any, url: str) -> tuple[int, int]:  # noqa: F811
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def _take(source: SqsSource, n: int, timeout: float = 30) -> list[Any]:
    got, deadline = [], time.monotonic() + timeout
    while sum(len(d) for d in got) < n:
        assert time.monotonic() < deadline, f"received {sum(len(d) for d in got)} of {n}"
        if (d := source.get(0.5)) is not None:
            got.append(d)
    return got


def test_messages_are_deleted_only_when_acknowledged(sqs: Any) -> None:  # noqa: F811
    url = _queue(sqs, "src-ack", 95)
    source = SqsSource(url, wait_time=1, visibility_timeout=30, concurrent_receives=3)
    source.start()
    try:
        deliveries = _take(source, 95)
        assert _counts(sqs, url) == (0, 95)  # received: invisible, not deleted
        ids = {d.messages.message(i).data for d in deliveries for i in range(len(d))}
        assert len(ids) == 95
        ack_all(deliveries)
        assert _counts(sqs, url) == (0, 0)
        assert source.flow_control.messages == 0
    finally:
        source.stop()


def test_a_nack_hands_messages_back_at_once(sqs: Any) -> None:  # noqa: F811
    url = _queue(sqs, "src-nack", 10)
    source = SqsSource(url, wait_time=1, visibility_timeout=300, concurrent_receives=1)
    source.start()
    deliveries = _take(source, 10)
    source.stop()
    nack_all(deliveries)
    assert _counts(sqs, url) == (10, 0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again["Messages"]} == {"2"}


def test_held_messages_stay_invisible_past_their_visibility_timeout(sqs: Any) -> None:  # noqa: F811
    url = _queue(sqs, "src-lease", 10)
    source = SqsSource(url, wait_time=1, visibility_timeout=2, concurrent_receives=1)
    source.start()
    try:
        deliveries = _take(source, 10)
        time.sleep(6)  # three visibility timeouts: the lease thread extends them
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
        ack_all(deliveries)
        assert _counts(sqs, url) == (0, 0)
    finally:
        source.stop()


def test_a_deleted_queue_stops_the_source_with_its_name(sqs: Any) -> None:  # noqa: F811
    url = _queue(sqs, "src-gone", 0)
    source = SqsSource(url, wait_time=1, concurrent_receives=2)
    source.start()
    sqs.delete_queue(QueueUrl=url)
    deadline = time.monotonic() + 20
    with pytest.raises(SourceError, match="src-gone") as raised:
        while time.monotonic() < deadline:
            source.get(0.5)
    assert "QueueDoesNotExist" in str(raised.value)
    source.stop()


def test_a_fifo_group_is_received_in_order_by_several_receivers(sqs: Any) -> None:  # noqa: F811
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName="src-order.fifo", Attributes=fifo)["QueueUrl"]
    for group in ("a", "b"):
        for i in range(0, 30, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(j), "MessageBody": f'{{"g": "{group}", "n": {i + j}}}', "MessageGroupId": group}
                for j in range(10)])  # fmt: skip
    source = SqsSource(url, wait_time=1, visibility_timeout=30, concurrent_receives=4)
    source.start()
    seen: dict[str, list[int]] = {"a": [], "b": []}
    try:
        deadline = time.monotonic() + 60
        while sum(map(len, seen.values())) < 60:
            assert time.monotonic() < deadline, seen
            d = source.get(0.5)
            if d is None:
                continue
            for i in range(len(d)):
                m = d.messages.message(i)
                event = json.loads(m.data)
                assert m.ordering_key == event["g"]  # MessageGroupId is the ordering key
                seen[event["g"]].append(event["n"])
            ack_all([d])
    finally:
        source.stop()
    assert seen == {"a": list(range(30)), "b": list(range(30))}


class _FailingRefresh:
    """AWS credentials whose refresh fails after the first read (an instance role's endpoint gone, an SSO session
    expired): botocore's ``get_frozen_credentials()`` raising, as it does then."""

    def __init__(self) -> None:
        self.reads = 0

    def get_frozen_credentials(self) -> Any:
        from botocore.credentials import ReadOnlyCredentials

        self.reads += 1
        if self.reads > 1:
            raise RuntimeError("Error when retrieving credentials from container-role: connection refused")
        return ReadOnlyCredentials("test", "test", None)


def test_a_failed_credential_refresh_keeps_signing_with_the_current_ones(
    sqs: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refresh that fails must not stop the receiver (it was: the exception ended the receiving thread): the
    calls go on with the credentials in hand, and the refresh is tried again a few seconds later."""
    from streamlake_fast.transports.aws import client

    monkeypatch.setattr(client, "CREDENTIALS_CHECK_SECONDS", 0.0)  # refresh before every call
    url = sqs.create_queue(QueueName="refresh-fails")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}')
    credentials = _FailingRefresh()
    sqs_client = client.SqsClient(credentials=credentials)
    with caplog.at_level("WARNING"):
        answer = sqs_client.call_json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10})
        again = sqs_client.call_json("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})
    assert [m["Body"] for m in answer["Messages"]] == ['{"n": 1}'] and "Attributes" in again
    assert credentials.reads == 2  # the failed refresh waits CREDENTIALS_RETRY_SECONDS before the next try
    assert "refreshing the AWS credentials failed" in caplog.text


def test_drained_needs_two_quiet_readings_and_counts_messages_in_flight(sqs: Any) -> None:  # noqa: F811
    """``--exit-when-drained`` on SQS: a message another consumer holds (in flight) keeps the queue undrained; an
    empty queue is drained only once two readings of its counts, a second or more apart, both say nothing is left
    (SQS's counts are approximate: one reading taken as a send lands says 0 with a message on the queue), and a
    message arriving between them starts the count again."""
    url = _queue(sqs, "src-drained", 1)
    held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]  # another consumer's, in flight
    source = SqsSource(url, wait_time=0, visibility_timeout=30, concurrent_receives=2)
    source.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            assert not source.drained()
            time.sleep(0.2)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=held[0]["ReceiptHandle"])
        time.sleep(1.1)
        assert not source.drained()  # the first quiet reading
        sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}')
        ack_all(_take(source, 1))
        time.sleep(1.1)
        assert not source.drained()  # a message came between: counting starts again
        deadline = time.monotonic() + 10
        while not source.drained():
            assert time.monotonic() < deadline, "never drained"
            time.sleep(0.2)
    finally:
        source.stop()


class _FarAway(SqsSource):
    """The source with each acknowledgement taking as long as it does far from the queue's region (2 ms a message:
    SQS deletes ten a call). A chunk of 64 deliveries (640 messages) then takes ~1.3 s, within the 2 s of lease
    left when a lease is extended, with room for a loaded machine (at 3 ms, one run in several lost that race)."""

    def _acknowledge(self, messages: Any) -> None:
        time.sleep(0.002 * len(messages))
        super()._acknowledge(messages)


def test_leases_are_kept_while_a_large_acknowledgement_is_sent(sqs: Any) -> None:  # noqa: F811
    """Deleting a large file's messages takes a while (ten a call): the messages whose delete has not gone out yet
    keep their lease until it has. Forgetting them all when the acknowledgement began let the leases of the last
    ones lapse mid-way: delivered again, written twice, with no fault at all."""
    url = _queue(sqs, "src-ack-lease", 1500)
    source = _FarAway(url, wait_time=1, visibility_timeout=4, concurrent_receives=4)
    source.start()
    try:
        deliveries = _take(source, 1500)
        time.sleep(1.0)  # held past the first extension, as a lake file's messages are
        ack_all(deliveries)  # ~3 s and moto's time, past the lease left when it began (2 s at the least)
        again = [d for _ in range(8) if (d := source.get(0.5)) is not None]
        assert sum(len(d) for d in again) == 0, "messages delivered again while their deletes were sent"
        assert _counts(sqs, url) == (0, 0)
        assert source.refused == 0
    finally:
        source.stop()
