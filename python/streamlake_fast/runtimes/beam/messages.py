"""Beam elements as the codec's messages, and what every streamlake transform shares (its metrics namespace)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar

import apache_beam as beam
from apache_beam.utils.timestamp import MAX_TIMESTAMP, MIN_TIMESTAMP, Timestamp

from streamlake_fast.codec.messages import Messages
from streamlake_fast.sinks.base import Sink
from streamlake_fast.worker.fanout import SINK_RETRY

__all__ = ["NAMESPACE", "RETRY", "Keyed", "Open", "keyed", "messages_of", "stamped"]

#: The Beam metrics namespace of every streamlake transform.
NAMESPACE = "streamlake"

#: Transient failures are retried for up to this long inside the bundle; then the runner retries the bundle.
RETRY = replace(SINK_RETRY, deadline=300.0)

T = TypeVar("T")

#: One element before decoding: the message (bytes or a PubsubMessage) and its element timestamp in µs.
Keyed = tuple[Any, int]


def messages_of(elements: Sequence[Keyed]) -> Messages:
    """The batch's messages for the codec: a ``PubsubMessage`` keeps its attributes, id, publish time and ordering
    key; plain ``bytes`` (``ReadFromPubSub`` without attributes) get no id and their element timestamp (the publish
    time, for Pub/Sub) as publish time. Envelopes are opened into their events."""
    parts = []
    for m, at in elements:
        if isinstance(m, bytes):
            parts.append((m, None, "", at, ""))
        else:
            published = m.publish_time
            us = _micros(published) if published is not None else at
            parts.append((m.data, m.attributes, m.message_id or "", us, m.ordering_key or ""))
    return Messages.from_parts(parts).opened()


def _micros(t: Any) -> int:
    if isinstance(t, datetime):
        return int(t.timestamp()) * 1_000_000 + t.microsecond
    if isinstance(t, Timestamp):
        return int(t.micros)
    seconds, nanos = getattr(t, "seconds", 0), getattr(t, "nanos", 0)  # a protobuf Timestamp
    return int(seconds) * 1_000_000 + int(nanos) // 1000


def stamped(message: Any, timestamp: Any = beam.DoFn.TimestampParam) -> Keyed:
    # Elements of a bounded source (beam.Create, files) carry no time: they get the time they were batched.
    known = MIN_TIMESTAMP < timestamp < MAX_TIMESTAMP
    return message, int(timestamp.micros) if known else time.time_ns() // 1000


def keyed(message: Any, timestamp: Any = beam.DoFn.TimestampParam) -> tuple[int, Keyed]:
    return 0, stamped(message, timestamp)


class Open(Generic[T]):
    """The sinks a write transform's worker has open, by destination: opened on first use, ``max_open`` at most —
    the least recently used is flushed and closed first. ``sink_of`` tells which sink a value holds."""

    def __init__(self, open_one: Callable[[Hashable], T], sink_of: Callable[[T], Sink], max_open: int) -> None:
        self._open_one = open_one
        self._sink_of = sink_of
        self._max_open = max_open
        self._open: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, key: Hashable) -> T:
        found = self._open.get(key)
        if found is not None:
            self._open.move_to_end(key)
            return found
        while len(self._open) >= self._max_open:
            sink = self._sink_of(self._open.popitem(last=False)[1])
            RETRY.call(sink.flush, what=sink.name)  # its rows are durable before the bundle commits
            sink.close()
        found = self._open[key] = self._open_one(key)
        return found

    def values(self) -> Iterator[T]:
        return iter(list(self._open.values()))

    def close(self) -> None:
        while self._open:
            self._sink_of(self._open.popitem()[1]).close()
