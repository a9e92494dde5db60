"""Where replayed dead letters go: the main topic (Pub/Sub) or the main queue (SQS) — each through its transport's
:class:`~streamlake_fast.transports.sending.Sender`, each message acknowledged by the service before
:meth:`Target.send` returns."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from streamlake_fast.exceptions import ConfigError, PublishError
from streamlake_fast.transports.sending import Sender, send_all

__all__ = ["Message", "Target", "target"]

#: A message to send: its data and attributes.
Message = tuple[bytes, dict[str, str]]
_SQS_BATCH_BYTES = 1_000_000  # SQS: 1 MiB of bodies and attributes per SendMessageBatch


@dataclass
class Target:
    """A topic or a queue to send original messages to."""

    name: str
    sender: Sender
    queue_url: str | None = None  # SQS (else Pub/Sub)

    def fits(self, message: Message) -> bool:
        """Whether the message can be sent as it is: an SQS body is text, so data that is not UTF-8 cannot."""
        if self.queue_url is None:
            return True
        try:
            message[0].decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    def send(self, messages: Sequence[Message]) -> None:
        """Send every message; returns once the service took them all (raises :class:`PublishError` otherwise)."""
        if self.queue_url is None:
            from streamlake_fast.transports.gcp.wire import publish_requests

            requests, counts = publish_requests(self.name, [(d, list(a.items())) for d, a in messages])
        else:
            from streamlake_fast.transports.aws.wire import send_batch_requests

            fifo = self.queue_url.endswith(".fifo")
            entries = [(d.decode("utf-8"), list(a.items()), *(_fifo_ids(d, a) if fifo else (None, None)))
                       for d, a in messages]  # fmt: skip
            pairs = send_batch_requests(self.queue_url, entries, _SQS_BATCH_BYTES)
            requests, counts = [r for r, _ in pairs], [n for _, n in pairs]
        sent = send_all(self.sender, requests, counts)
        if sent.refused:
            raise PublishError(f"{self.name} refused {len(sent.refused)} messages: {sent.refused[0][1]}", sent.accepted,
                               retryable=False)  # fmt: skip

    def close(self) -> None:
        self.sender.close()


def _fifo_ids(data: bytes, attributes: dict[str, str]) -> tuple[str, str]:
    """A FIFO queue's message group (all replayed messages in one, in replay order) and deduplication id."""
    digest = hashlib.sha256(data + repr(sorted(attributes.items())).encode()).hexdigest()
    return "replayed", digest


def target(*, topic: str | None = None, queue: str | None = None) -> Target:
    """The target named by exactly one of ``topic`` (``projects/P/topics/T``) and ``queue`` (an SQS queue URL)."""
    if (topic is None) == (queue is None):
        raise ConfigError("give the main topic or the main queue to replay to (one of them)")
    if topic is not None:
        from streamlake_fast.transports.gcp.sender import RequestSender

        return Target(topic, RequestSender(topic))
    assert queue is not None
    from streamlake_fast.transports.aws.sender import QueueSender

    return Target(queue, QueueSender(queue), queue_url=queue)
