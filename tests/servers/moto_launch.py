"""moto's server (SQS and S3) with its SQS made usable at test volumes.

moto 5.2's SQS scans the whole queue several times per call — every ``SendMessage`` computes the approximate
message counts, every received message re-reads all queue attributes, each time check builds a ``datetime`` —
so 2,000 messages take a minute and 50,000 would take hours. These patches change how fast it answers, not what:
the same messages, visibility, receive counts, redrive and FIFO rules (``tests/aws/test_moto_launch.py`` checks the
answers against the unpatched behaviour on a small queue). Test infrastructure only; the product never sees it.

Run as ``python -m tests.servers.moto_launch -H 127.0.0.1 -p PORT``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from moto.server import main
from moto.sqs import models
from moto.sqs.exceptions import ReceiptHandleIsInvalid

_original_unix_time = models.unix_time
_original_unix_time_millis = models.unix_time_millis
_full_attributes = threading.local()


def _unix_time(dt: Any = None) -> float:
    return time.time() if dt is None else _original_unix_time(dt)


def _unix_time_millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else _original_unix_time_millis(dt)


class _Visible:
    """``Queue.messages`` as a lazy view: receiving stops scanning once it has its messages."""

    def __init__(self, queue: Any) -> None:
        self._messages = queue._messages

    def __iter__(self) -> Iterator[Any]:
        now = time.time() * 1000.0
        return (m for m in self._messages if m.visible_at < now and not m.delayed_until > now)

    def __bool__(self) -> bool:
        return any(True for _ in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _only_when_asked(count: property) -> property:
    """An approximate count (a scan of the queue) computed for ``GetQueueAttributes`` only; every other reader of
    ``Queue.attributes`` (each ``SendMessage``) wants other keys."""

    def get(self: Any) -> int:
        return count.fget(self) if getattr(_full_attributes, "on", False) else 0  # type: ignore[misc]

    return property(get)


_original_get_queue_attributes = models.SQSBackend.get_queue_attributes


def _get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    _full_attributes.on = True
    try:
        return _original_get_queue_attributes(self, queue_name, attribute_names)  # type: ignore[no-any-return]
    finally:
        _full_attributes.on = False


def _valid_for_retention(self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    return bool(int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time())


def _delete_message(self: Any, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:
        return
    messages = self._messages
    for i, message in enumerate(messages):
        if message.had_receipt_handle(receipt_handle):
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            self._messages = messages[:i] + messages[i + 1 :]
            return
    raise ReceiptHandleIsInvalid()


def patch() -> None:
    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis
    models.Queue.messages = property(_Visible)  # type: ignore[assignment]
    for name in ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                 "approximate_number_of_messages_delayed"):  # fmt: skip
        setattr(models.Queue, name, _only_when_asked(getattr(models.Queue, name)))
    models.Queue.delete_message = _delete_message  # type: ignore[method-assign]
    models.SQSBackend.get_queue_attributes = _get_queue_attributes  # type: ignore[method-assign]
    models.SQSBackend.is_message_valid_based_on_retention_period = _valid_for_retention  # type: ignore[method-assign]


if __name__ == "__main__":
    patch()
    main(sys.argv[1:])
