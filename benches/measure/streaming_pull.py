"""Receiving from Pub/Sub: unary ``Pull`` + ``Acknowledge`` (what the worker does) against ``StreamingPull`` (what
Google's client does), both as raw bytes read in Rust — the same parsing, only the protocol differs — and, for
reference, Google's client itself (a callback per message). CPU of this process per message drained from the
emulator's backlog, and the rate.

Run from the repository root: ``.venv/bin/python benches/measure/streaming_pull.py [--events 100000]``.
``--pull-sizes 10,30,100`` instead drains a backlog per size with unary ``Pull`` asking that many messages, and fits
the CPU of one ``Pull`` + ``Acknowledge`` as a fixed part plus a part per message: the emulator answers at most 100
per ``Pull``, production Pub/Sub up to 1,000, so the fit says what larger responses would cost (an extrapolation).
The worker's two sources (``PubSubSource``, ``StreamingPubSubSource``: leases and flow control included) drain
theirs the same way, a delivery acknowledged as it comes. Each way drains its own backlog of receipts, published
beforehand by ``streamlake publish`` in a child process.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from _servers import ROOT, code_under_test, create_topic_and_subscription, start_pubsub

from streamlake_fast.codec.messages import Messages
from streamlake_fast.transports.gcp.channels import pubsub_channel
from streamlake_fast.transports.gcp.wire import acknowledge_requests, pull_request

PROJECT = "measure"
IDENT: Any = None


def backlog(n: int) -> str:
    suffix = uuid.uuid4().hex[:8]
    topic, subscription = f"projects/{PROJECT}/topics/t-{suffix}", f"projects/{PROJECT}/subscriptions/s-{suffix}"
    create_topic_and_subscription(topic, subscription, ack_deadline=60)
    subprocess.run([sys.executable, "-m", "streamlake_fast.cli", "publish", "--topic", topic, "--generate", str(n)],
                   check=True, capture_output=True, cwd=ROOT)  # fmt: skip
    return subscription


def unary(subscription: str, n: int, rate: float = 0.0, max_messages: int = 1000) -> int:
    """``rate``: at most that many messages a second (to compare at StreamingPull's rate on the emulator)."""
    channel = pubsub_channel()
    pull = channel.unary_unary("/google.pubsub.v1.Subscriber/Pull", IDENT, IDENT)
    ack = channel.unary_unary("/google.pubsub.v1.Subscriber/Acknowledge", IDENT, IDENT)
    request, got, calls = pull_request(subscription, max_messages), 0, 0
    start = time.perf_counter()
    while got < n:
        if rate:
            time.sleep(max(0.0, got / rate - (time.perf_counter() - start)))
        messages = Messages.from_pubsub([pull(request, timeout=30)])
        calls += 1
        got += len(messages)
        for r in acknowledge_requests(messages, subscription):
            ack(r, timeout=30)
    return calls


def streaming(subscription: str, n: int) -> int:
    from google.pubsub_v1 import StreamingPullRequest

    channel = pubsub_channel()
    stream = channel.stream_stream("/google.pubsub.v1.Subscriber/StreamingPull", IDENT, IDENT)
    outgoing: queue.Queue[bytes | None] = queue.Queue()
    outgoing.put(StreamingPullRequest.serialize(StreamingPullRequest(
        subscription=subscription, stream_ack_deadline_seconds=60, max_outstanding_messages=5000)))  # fmt: skip

    def requests() -> Iterator[bytes]:
        while (r := outgoing.get()) is not None:
            yield r

    got = responses = 0
    answers = stream(requests())
    for raw in answers:
        messages = Messages.from_pubsub([raw])  # a StreamingPullResponse reads as a PullResponse (field 1)
        responses += 1
        got += len(messages)
        for r in acknowledge_requests(messages, ""):  # ack ids only: field 2 of both requests
            outgoing.put(r)
        if got >= n:
            break
    outgoing.put(None)
    answers.cancel()
    return responses


def _drain(source: Any, n: int) -> int:
    from streamlake_fast.sources.delivery import ack_all

    source.start()
    got = deliveries = 0
    try:
        while got < n:
            if (d := source.get(5.0)) is not None:
                got += len(d)
                deliveries += 1
                ack_all([d])
    finally:
        source.stop()
    return deliveries


def source_pull(subscription: str, n: int) -> int:
    from streamlake_fast.transports.gcp.pull import PubSubSource

    return _drain(PubSubSource(subscription), n)


def source_streaming(subscription: str, n: int) -> int:
    from streamlake_fast.transports.gcp.streaming import StreamingPubSubSource

    return _drain(StreamingPubSubSource(subscription), n)


def google_client(subscription: str, n: int) -> int:
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    done, count, lock = threading.Event(), [0], threading.Lock()

    def callback(message: Any) -> None:
        message.ack()
        with lock:
            count[0] += 1
            if count[0] >= n:
                done.set()

    future = pubsub_v1.SubscriberClient().subscribe(subscription, callback)
    done.wait(600)
    future.cancel()
    return 0


def pull_sizes(events: int, sizes: list[int]) -> None:
    """CPU per unary ``Pull`` + ``Acknowledge`` against the messages per response, and the least-squares line."""
    points = []
    for size in sizes:
        subscription = backlog(events)
        time.sleep(1)
        cpu0 = time.process_time()
        calls = unary(subscription, events, max_messages=size)
        cpu = time.process_time() - cpu0
        points.append((events / calls, cpu / calls * 1e6))
        print(f"Pull of {size:>4}: {events / calls:6.1f} messages per response, {cpu / calls * 1e6:6.1f} CPU µs per "
              f"Pull + Acknowledge, {cpu / events * 1e6:5.2f} per message")  # fmt: skip
    mean_n, mean_us = (sum(p[i] for p in points) / len(points) for i in (0, 1))
    slope = sum((n - mean_n) * (us - mean_us) for n, us in points) / sum((n - mean_n) ** 2 for n, _ in points)
    fixed = mean_us - slope * mean_n
    print(f"fit: {fixed:.1f} µs per Pull + {slope:.2f} µs per message; at 1,000 messages per response "
          f"{fixed / 1000 + slope:.2f} µs per message (extrapolated)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pull-sizes", help="comma-separated messages per Pull (the sweep; see above)")
    args = parser.parse_args()
    server = start_pubsub()
    os.environ["PUBSUB_EMULATOR_HOST"] = server.host
    print(code_under_test())
    try:
        if args.pull_sizes:
            pull_sizes(args.events, [int(s) for s in args.pull_sizes.split(",")])
            return
        paced: Callable[[str, int], int] = partial(unary, rate=2_000.0)
        for name, receive in [("unary Pull + Acknowledge (raw bytes)", unary),
                              ("unary Pull + Acknowledge (raw bytes), paced to 2,000 messages/s", paced),
                              ("StreamingPull (raw bytes)", streaming),
                              ("the worker's source, --receive pull (leases, flow control, ack per delivery)",
                               source_pull),
                              ("the worker's source, --receive streaming", source_streaming),
                              ("Google's client (StreamingPull, a callback per message)", google_client)]:  # fmt: skip
            subscription = backlog(args.events)
            time.sleep(1)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            calls = receive(subscription, args.events)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            per = f", {args.events / calls:,.0f} messages per response" if calls else ""
            print(f"{name}: {cpu / args.events * 1e6:.1f} CPU µs/message, {args.events / wall:,.0f} messages/s{per}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
