"""moto's server (SQS and S3) with its SQS made usable at test volumes.

moto 5.2's SQS scans the whole queue several times per call — every ``SendMessage`` computes the approximate
message counts, every received message re-reads all queue attributes, each time check builds a ``datetime``, each
deleted or extended entry is looked for by a scan in Python — so 2,000 messages take a minute and 50,000 would take
hours; and concurrent receives and deletes race (below). These patches change how fast it answers and remove the
races, not what it answers: the same messages, visibility, receive counts, redrive and FIFO rules
(``tests/local/test_moto_launch.py`` checks the answers against the unpatched server's on a small queue). A local
stand-in for the demo and the tests; a worker on AWS never runs it.

Run as ``python -m streamlake_fast.local.moto_launch -H 127.0.0.1 -p PORT`` (needs ``moto[server]``).

moto has no public way to change these, so this patches its internals, written against moto 5.2 — the version the
project's locks pin (``requirements/dev.txt``: moto 5.2.6); another minor version is started with a warning, and
``make test-latest`` shows whether the patches still hold.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from moto.server import main
from moto.sqs import models as _models
from moto.sqs.exceptions import ReceiptHandleIsInvalid

models: Any = _models  # patched below: names moto does not export
#: The moto minor version these patches were written against (and the locks pin).
PATCHED_FOR = "5.2"


def _check_version() -> None:
    from importlib.metadata import version

    found = version("moto")
    if not found.startswith(PATCHED_FOR + "."):
        print(f"moto_launch: patches written for moto {PATCHED_FOR}.x, found {found}; answers may differ",
              file=sys.stderr)  # fmt: skip


_original_unix_time = models.unix_time
_original_unix_time_millis = models.unix_time_millis
_full_attributes = threading.local()


def _unix_time(dt: Any = None) -> float:
    return time.time() if dt is None else _original_unix_time(dt)


def _unix_time_millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else _original_unix_time_millis(dt)


unix_time_millis = _unix_time_millis


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
        answer: dict[str, Any] = _original_get_queue_attributes(self, queue_name, attribute_names)
        return answer
    finally:
        _full_attributes.on = False


def _valid_for_retention(self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    return bool(int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time())


#: Every receipt handle a live message has had → the message: deletes and visibility changes find their message
#: without scanning the queue (moto scans it, in Python, for every entry).
_by_handle: dict[str, Any] = {}
_original_mark_received = models.Message.mark_received


def _mark_received(self: Any, visibility_timeout: int | None = None) -> None:
    _original_mark_received(self, visibility_timeout)
    _by_handle[self.receipt_handle] = self


#: Receives, deletes and visibility changes one at a time (a receive lets go while its long poll waits). moto's
#: server is threaded and its queues are not: a delete built a new message list without its message and assigned
#: it back, so two concurrent deletes could each put back the other's message — deleted, yet delivered again once
#: its visibility lapsed: a duplicate with no fault at all (21 in 50,000 receipts) — and drop a message sent
#: meanwhile; a receive iterating the pending set while a delete changed it failed with a 500; and concurrent
#: receives handed out the same message twice (moto checks a message's visibility and marks it received in two
#: steps).
_queue_lock = threading.Lock()


def _delete_message(self: Any, receipt_handle: str) -> None:
    with _queue_lock:
        if receipt_handle in self.deleted_messages:
            return
        message: Any = _by_handle.get(receipt_handle)
        try:
            i = self._messages.index(message)  # by identity, in C
        except ValueError:
            raise ReceiptHandleIsInvalid() from None
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        del self._messages[i]  # in place: a concurrent SendMessage's append is kept
        for handle in message.all_receipt_handles:
            _by_handle.pop(handle, None)


def _change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
    with _queue_lock:
        _change_visibility(self.get_queue(queue_name), receipt_handle, visibility_timeout)


def _change_visibility(queue: Any, receipt_handle: str, visibility_timeout: int) -> None:
    message = _by_handle.get(receipt_handle)
    if message is None or message not in queue._messages:
        raise ReceiptHandleIsInvalid()
    if unix_time_millis() + int(visibility_timeout) * 1000 - message.sent_timestamp > 43200 * 1000:
        raise models.InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    message.change_visibility(visibility_timeout)
    if message.visible and message in queue.pending_messages:
        queue.pending_messages.remove(message)


_original_receive_message = models.SQSBackend.receive_message
_original_wait_for_messages = models.Queue.wait_for_messages


def _receive_message(self: Any, *args: Any, **kwargs: Any) -> Any:
    with _queue_lock:
        return _original_receive_message(self, *args, **kwargs)


def _wait_for_messages(self: Any, timeout: int) -> None:
    _queue_lock.release()
    try:
        _original_wait_for_messages(self, timeout)
    finally:
        _queue_lock.acquire()


def patch() -> None:
    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis
    models.Queue.messages = property(_Visible)
    for name in ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                 "approximate_number_of_messages_delayed"):  # fmt: skip
        setattr(models.Queue, name, _only_when_asked(getattr(models.Queue, name)))
    models.Message.mark_received = _mark_received
    models.SQSBackend.receive_message = _receive_message
    models.Queue.wait_for_messages = _wait_for_messages
    models.Queue.delete_message = _delete_message
    models.SQSBackend.change_message_visibility = _change_message_visibility
    models.SQSBackend.get_queue_attributes = _get_queue_attributes
    models.SQSBackend.is_message_valid_based_on_retention_period = _valid_for_retention


if __name__ == "__main__":
    _check_version()
    patch()
    main(sys.argv[1:])
