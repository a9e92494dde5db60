"""Where dead letters are replayed from when reading consumes them: a dead-letter subscription (Pub/Sub) or a
dead-letter queue (SQS). Each hands out ``(handle, data, attributes)`` and can acknowledge a handle (the dead letter
is gone), hold it out of reach for a while, or hand it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from streamlake_fast.transports.names import check_queue_url, check_subscription

__all__ = ["Origin", "Pulled", "QueueOrigin", "SubscriptionOrigin"]

#: One dead letter as received: (the handle to settle it by, its data, its attributes).
Pulled = tuple[str, bytes, dict[str, str]]


class Origin(Protocol):
    name: str

    def pull(self) -> list[Pulled]:
        """The next dead letters; empty once there are none."""
        ...

    def ack(self, handles: Sequence[str]) -> None: ...

    def hold(self, handles: Sequence[str], seconds: int) -> None:
        """Keep them from anyone else for ``seconds`` (0: hand them back now)."""
        ...

    def close(self) -> None: ...


class SubscriptionOrigin:
    """A subscription of the dead-letter topic."""

    def __init__(self, subscription: str, *, max_messages: int = 500, pull_timeout: float = 5.0) -> None:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        from streamlake_fast.transports.gcp.channels import pubsub_channel

        self.name = check_subscription(subscription)
        self._client = pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=pubsub_channel()))
        self._max, self._timeout = max_messages, pull_timeout

    def pull(self) -> list[Pulled]:
        from google.api_core import exceptions as gexc

        try:
            response = self._client.pull(subscription=self.name, max_messages=self._max, timeout=self._timeout,
                                         retry=None)  # fmt: skip
        except gexc.DeadlineExceeded:
            return []
        return [(r.ack_id, r.message.data, dict(r.message.attributes)) for r in response.received_messages]

    def ack(self, handles: Sequence[str]) -> None:
        for i in range(0, len(handles), 1000):
            self._client.acknowledge(subscription=self.name, ack_ids=list(handles[i : i + 1000]))

    def hold(self, handles: Sequence[str], seconds: int) -> None:
        for i in range(0, len(handles), 1000):
            self._client.modify_ack_deadline(subscription=self.name, ack_ids=list(handles[i : i + 1000]),
                                             ack_deadline_seconds=seconds)  # fmt: skip

    def close(self) -> None:
        pass


class QueueOrigin:
    """A dead-letter queue (the worker's ``--dead-letter-queue``: each dead letter in the envelope form)."""

    def __init__(self, queue_url: str, *, wait_time: int = 1) -> None:
        from streamlake_fast.transports.aws.client import SqsClient

        self.name = check_queue_url(queue_url)
        self._client = SqsClient()
        self._wait = wait_time

    def pull(self) -> list[Pulled]:
        answer = self._client.call_json("ReceiveMessage", {"QueueUrl": self.name, "MaxNumberOfMessages": 10,
                                                           "WaitTimeSeconds": self._wait, "VisibilityTimeout": 180,
                                                           "MessageAttributeNames": ["All"]})  # fmt: skip
        return [(m["ReceiptHandle"], m["Body"].encode(), _attributes(m)) for m in answer.get("Messages", [])]

    def ack(self, handles: Sequence[str]) -> None:
        self._each("DeleteMessageBatch", handles, {})

    def hold(self, handles: Sequence[str], seconds: int) -> None:
        self._each("ChangeMessageVisibilityBatch", handles, {"VisibilityTimeout": seconds})

    def _each(self, action: str, handles: Sequence[str], extra: dict[str, Any]) -> None:
        for i in range(0, len(handles), 10):
            entries = [{"Id": str(k), "ReceiptHandle": h, **extra} for k, h in enumerate(handles[i : i + 10])]
            self._client.call_json(action, {"QueueUrl": self.name, "Entries": entries})

    def close(self) -> None:
        pass


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in (message.get("MessageAttributes") or {}).items():
        text = value.get("StringValue")
        out[key] = text if text is not None else str(value.get("BinaryValue", ""))  # binary: as SQS gives it, base64
    return out
