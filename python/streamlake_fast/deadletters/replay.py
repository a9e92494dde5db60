"""``streamlake dead-letters replay``: dead letters back to the main topic or queue once the schema allows them.

From a dead-letter subscription (the worker's ``--dead-letter-topic``) or queue (``--dead-letter-queue``), each
dead letter becomes its original message again — the original data and attributes, in the plain form or out of the
JSON envelope — plus a ``replayed_from`` attribute, and is sent to the main topic or queue, across transports too
(:mod:`~streamlake_fast.deadletters.origins`, :mod:`~streamlake_fast.deadletters.targets`). A dead letter is
acknowledged only after the target took its message. Those not chosen (``--code``, ``--since``, ``--limit``) are
held out of reach while the replay runs and handed back at the end; the replay stops by itself once a pull finds
nothing.
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

from streamlake_fast.deadletters.origins import Origin, SubscriptionOrigin
from streamlake_fast.deadletters.targets import Message, Target
from streamlake_fast.sinks.deadletter.record import DEAD_LETTER_SCHEMA
from streamlake_fast.transports.names import check_topic

__all__ = ["REPLAYED_FROM", "ReplayCounts", "ReplayFilter", "original_message", "replay", "replay_subscription"]

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


def replay(origin: Origin, target: Target, flt: ReplayFilter = ReplayFilter()) -> ReplayCounts:
    """Replay the dead letters ``origin`` hands out to ``target`` until it has none (or ``flt.limit`` is reached):
    each chosen one becomes its original message again (plus ``replayed_from``), is held for the send, sent, and
    acknowledged only once the target took it; the others are held out of reach and handed back at the end."""
    counts, held = ReplayCounts(), []
    try:
        while flt.limit is None or sum(counts.replayed.values()) < flt.limit:
            pulled = origin.pull()
            if not pulled:
                break
            chosen: list[tuple[str, Message, str]] = []
            left: list[str] = []
            for handle, data, attributes in pulled:
                code = attributes.get("reason_code", "")
                full = flt.limit is not None and sum(counts.replayed.values()) + len(chosen) >= flt.limit
                if full or not flt.accepts(code, attributes.get("rejected_at")):
                    counts.left[code] += 1
                    left.append(handle)
                    continue
                original = original_message(data, attributes)
                if original is None or not target.fits(original):
                    counts.unreplayable[code] += 1
                    left.append(handle)
                    continue
                body, attrs = original
                chosen.append((handle, (body, {**attrs, REPLAYED_FROM: origin.name}), code))
            if chosen:  # held for the send: the origin's own deadline may be shorter than a slow send
                handles = [h for h, _, _ in chosen]
                origin.hold(handles, _PUBLISH_SECONDS)
                target.send([m for _, m, _ in chosen])  # taken by the target before the acknowledgement below
                origin.ack(handles)
                counts.replayed.update(c for _, _, c in chosen)
            if left:
                origin.hold(left, _HOLD_SECONDS)
                held.extend(left)
    finally:
        try:
            origin.hold(held, 0)  # the ones not replayed go back now
        finally:
            target.close()
            origin.close()
    return counts


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
    from streamlake_fast.transports.gcp.sender import RequestSender

    origin = SubscriptionOrigin(subscription, max_messages=max_messages, pull_timeout=pull_timeout)
    return replay(origin, Target(check_topic(topic), RequestSender(topic, channel=channel)), flt)
