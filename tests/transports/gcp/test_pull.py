"""The Pub/Sub source's leases on the real emulator: kept alive while a delivery is held, handed back after
``max_lease``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from streamlake_fast import Delivery
from streamlake_fast.sources.delivery import ack_all
from streamlake_fast.transports.gcp.pull import PubSubSource
from tests.servers.fixtures import Cloud


def _ids(d: Delivery) -> list[str]:
    return [d.messages.message(i).message_id for i in range(len(d))]


def _publish(cloud: Cloud, topic: str, n: int) -> None:
    publisher = cloud.publisher()
    for f in [publisher.publish(topic, b'{"n": %d}' % i) for i in range(n)]:
        f.result(timeout=60)


def _collect(source: PubSubSource, seconds: float) -> list[Delivery]:
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (d := source.get(0.5)) is not None:
            out.append(d)
    return out


@contextmanager
def _receiving(cloud: Cloud, n: int, subscription_deadline: int, **options: float) -> Iterator[PubSubSource]:
    """A started source on a fresh subscription holding ``n`` messages."""
    topic, subscription = cloud.create_topic_and_subscription(ack_deadline=subscription_deadline)
    _publish(cloud, topic, n)
    source = PubSubSource(subscription, concurrent_pulls=1, pull_timeout=2, **options)  # type: ignore[arg-type]
    source.start()
    try:
        yield source
    finally:
        source.stop()


def test_a_held_delivery_keeps_its_lease_past_the_subscription_deadline(pubsub_only: Cloud) -> None:
    with _receiving(pubsub_only, 5, 10, ack_deadline=10) as source:
        first = _collect(source, 3)
        assert sum(len(d) for d in first) == 5
        again = _collect(source, 16)  # past the 10 s deadline: without extensions they would come back
        assert again == []
        ack_all(first)


def test_a_delivery_held_past_max_lease_is_handed_back(pubsub_only: Cloud) -> None:
    with _receiving(pubsub_only, 3, 60, max_lease=2) as source:
        first = _collect(source, 2)
        ids = sorted(i for d in first for i in _ids(d))
        assert len(ids) == 3
        redelivered = _collect(source, 6)  # nacked after ~2 s, so Pub/Sub redelivers at once (not after 60 s)
        assert {i for d in redelivered for i in _ids(d)} == set(ids)
        ack_all(redelivered)
        for d in first:
            d.release()


def test_leases_are_extended_before_they_lapse_and_longer_the_longer_a_message_waits() -> None:
    from streamlake_fast.sources.polling import LEASE_MARGIN, MAX_EXTENSION, extension, margin

    # extended with a third left, at least LEASE_MARGIN, never later than half-way (a short lease is not
    # extended every second, nor so late that the call cannot finish in time)
    assert margin(60) == 20 and margin(10) == LEASE_MARGIN and margin(4) == 2
    assert all(0 < margin(length) <= length / 2 for length in (1, 2, 4, 10, 30, 600))
    # a message that has waited long gets a longer extension (fewer calls behind an outage), capped
    assert extension(60, 5) == 60 and extension(60, 200) == 128 and extension(60, 5000) == MAX_EXTENSION == 600
    assert extension(4, 0.2) == 4 and extension(4, 9.5) == extension(4, 13) == 8  # one call for both
