"""``streamlake dead-letters replay``: dead letters back to the main topic once the schema allows them.

From a dead-letter subscription (the worker's ``--dead-letter-topic``), each dead letter becomes its original
message again — the original data and attributes, in the plain form or out of the JSON envelope — plus a
``replayed_from`` attribute, and is published to the main topic. A dead letter is acknowledged only after Pub/Sub
acknowledged its republished message. Those not chosen (``--code``, ``--since``, ``--limit``) are held out of
reach while the replay runs and handed back at the end; the replay stops by itself once a pull finds nothing.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.gcp.channels import pubsub_channel
from streamlake_fast.transports.gcp.sender import RequestSender
from streamlake_fast.transports.gcp.wire import publish_requests
from streamlake_fast.transports.names import check_subscription, check_topic

__all__ = ["REPLAYED_FROM", "ReplayCounts", "ReplayFilter", "original_message", "replay_subscription"]

log = logging.getLogger(__name__)

#: The attribute a replayed message carries: where its dead letter was.
REPLAYED_FROM = "replayed_from"
#: Attributes a dead letter adds to the message's own (the record's fields other than data and attributes).
_RECORD_FIELDS = frozenset(DEAD_LETTER_SCHEMA.names) - {"data", "attributes"}
_HOLD_SECONDS = 600  # dead letters not replayed stay out of the way this long (handed back at the end)
_PUBLISH_SECONDS = 180  # the dead letters being republished are leased this long: the sender's deadline, and more


@dataclass(frozen=True)
class ReplayFilter:
    """Which dead letters to replay: reason codes (empty: all), rejected at or after ``since``, at most ``limit``."""

    codes: frozenset[str] = frozenset()
    since: datetime | None = None
    limit: int | None = None

    def accepts(self, code: str, rejected_at: str | None) -> bool:
        if self.codes and code not in self.codes:
            return False
        if self.since is not None:
            if not rejected_at:
                return False
            return datetime.fromisoformat(rejected_at.replace("Z", "+00:00")) >= self.since
        return True


@dataclass
class ReplayCounts:
    """Dead letters per reason code: replayed, left where they were (filtered out), and not replayable (data
    truncated in the envelope)."""

    replayed: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    unreplayable: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [f"replayed {sum(self.replayed.values()):,} dead letters"]
        for title, counts in (("replayed", self.replayed), ("left", self.left), ("not replayable", self.unreplayable)):
            out += [f"  {title}: {code or '(no code)'} {n:,}" for code, n in sorted(counts.items())]
        return out


def original_message(data: bytes, attributes: Mapping[str, str]) -> tuple[bytes, dict[str, str]] | None:
    """The message a dead letter was made from: ``(data, attributes)``; None when the envelope had to cut the
    data (it cannot be rebuilt)."""
    if attributes.get("envelope") == "json":
        record: dict[str, Any] = json.loads(data)
        if record.get("data_truncated"):
            return None
        body = record["data"].encode() if "data" in record else base64.b64decode(record["data_base64"])
        return body, dict(record["attributes"])
    return data, {k: v for k, v in attributes.items() if k not in _RECORD_FIELDS}


def _subscriber() -> Any:
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=pubsub_channel()))


def replay_subscription(
    subscription: str,
    topic: str,
    flt: ReplayFilter = ReplayFilter(),
    *,
    max_messages: int = 500,
    pull_timeout: float = 5.0,
    channel: Any | None = None,
) -> ReplayCounts:
    """Replay the dead letters on ``subscription`` to ``topic`` (published over ``channel``, by default Pub/Sub's
    endpoint); returns the counts once a pull finds nothing (or ``flt.limit`` is reached)."""
    from google.api_core import exceptions as gexc

    check_subscription(subscription)
    check_topic(topic)
    subscriber, sender = _subscriber(), RequestSender(topic, channel=channel)
    counts, held = ReplayCounts(), []
    try:
        while flt.limit is None or sum(counts.replayed.values()) < flt.limit:
            try:
                response = subscriber.pull(subscription=subscription, max_messages=max_messages,
                                           timeout=pull_timeout, retry=None)  # fmt: skip
            except gexc.DeadlineExceeded:
                break
            if not response.received_messages:
                break
            chosen: list[tuple[bytes, list[tuple[str, str]]]] = []
            chosen_ids: list[str] = []
            chosen_codes: list[str] = []
            left: list[str] = []
            for received in response.received_messages:
                attributes = dict(received.message.attributes)
                code = attributes.get("reason_code", "")
                full = flt.limit is not None and sum(counts.replayed.values()) + len(chosen) >= flt.limit
                if full or not flt.accepts(code, attributes.get("rejected_at")):
                    counts.left[code] += 1
                    left.append(received.ack_id)
                    continue
                original = original_message(received.message.data, attributes)
                if original is None:
                    counts.unreplayable[code] += 1
                    left.append(received.ack_id)
                    continue
                data, attrs = original
                attrs[REPLAYED_FROM] = subscription
                chosen.append((data, list(attrs.items())))
                chosen_ids.append(received.ack_id)
                chosen_codes.append(code)
            if chosen:  # leased for the publish: the subscription's own deadline may be shorter than a slow publish
                subscriber.modify_ack_deadline(subscription=subscription, ack_ids=chosen_ids,
                                               ack_deadline_seconds=_PUBLISH_SECONDS)  # fmt: skip
                sender.send_all(*publish_requests(topic, chosen))  # acknowledged by Pub/Sub before the ack below
                subscriber.acknowledge(subscription=subscription, ack_ids=chosen_ids)
                counts.replayed.update(chosen_codes)
            if left:
                subscriber.modify_ack_deadline(subscription=subscription, ack_ids=left,
                                               ack_deadline_seconds=_HOLD_SECONDS)  # fmt: skip
                held.extend(left)
    finally:
        for i in range(0, len(held), 1000):  # the ones not replayed go back to the subscription now
            subscriber.modify_ack_deadline(subscription=subscription, ack_ids=held[i : i + 1000],
                                           ack_deadline_seconds=0)  # fmt: skip
        sender.close()
    return counts
