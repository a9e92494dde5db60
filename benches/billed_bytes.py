"""Billed Pub/Sub bytes per event, plain messages vs zstd envelopes, for the demo's receipts and the shapes of the
shapes benchmark: what Pub/Sub's throughput pricing counts (data, attribute keys and values, 20 bytes of timestamp,
a 16-digit message id; at least 1,000 bytes per request), paid once to publish and once to deliver. Envelopes of
1 MiB of NDJSON (the default), and small ones of 4 KB (a quiet stream: few events per linger) without and with a
dictionary trained on other events of the same shape (``Dictionary.train``, 16 KB).

    .venv/bin/python benches/billed_bytes.py [EVENTS]

The requests are the product's own (``prepare_publish``), read back with ``google.pubsub_v1``; nothing is timed.
"""

from __future__ import annotations

import sys

from google.pubsub_v1 import PublishRequest

from streamlake_fast.codec.envelope import Dictionary, Envelope
from streamlake_fast.local.generate import receipts
from streamlake_fast.local.shapes import SHAPES
from streamlake_fast.transports.gcp.wire import Preparation, prepare_publish

MESSAGE_ID, TIMESTAMP, MIN_REQUEST = 16, 20, 1000
SMALL = 4_000  # NDJSON bytes of a small envelope


def billed(events: list[bytes], envelope: Envelope | None) -> tuple[int, int]:
    """(billed bytes of the publish requests, messages) for ``events``."""
    prepared = prepare_publish(Preparation(topic="projects/p/topics/t", envelope=envelope), 0, events=events)
    total = messages = 0
    for raw in prepared.requests:
        request = PublishRequest.deserialize(raw)
        size = sum(len(m.data) + sum(len(k) + len(v) for k, v in m.attributes.items()) + TIMESTAMP + MESSAGE_ID
                   for m in request.messages)  # fmt: skip
        total += max(size, MIN_REQUEST)
        messages += len(request.messages)
    return total, messages


def main(n: int) -> None:
    sets = {"receipts": ([m for m, _ in receipts(n, seed=3)], [m for m, _ in receipts(10_000, seed=4)])}
    sets |= {name: (make(n, 3)[1], make(10_000, 4)[1]) for name, make in SHAPES.items()}
    print(f"{'shape':<10} {'JSON B/event':>12} {'plain B/event':>14} {'envelope B/event':>17} {'fewer':>6} "
          f"{'messages':>9} {'4 KB envelope':>14} {'+ dictionary':>13} {'fewer':>6}")  # fmt: skip
    for name, (events, sample) in sets.items():
        plain, _ = billed(events, None)
        sealed, messages = billed(events, Envelope())
        small, _ = billed(events, Envelope(max_bytes=SMALL))
        with_dictionary, _ = billed(events, Envelope(max_bytes=SMALL, dictionary=Dictionary.train(sample)))
        size = sum(map(len, events)) / len(events)
        print(f"{name:<10} {size:>12.0f} {plain / n:>14.1f} {sealed / n:>17.1f} {plain / sealed:>5.1f}x "
              f"{messages:>9,} {small / n:>14.1f} {with_dictionary / n:>13.1f} "
              f"{plain / with_dictionary:>5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
