"""The envelope flags the publishing commands share (``streamlake publish``, ``streamlake serve``)."""

from __future__ import annotations

import argparse

from streamlake_fast.codec.envelope import Envelope
from streamlake_fast.exceptions import ConfigError

__all__ = ["envelope_arguments", "envelope_of"]

#: NDJSON bytes per envelope: a Pub/Sub message takes 10 MB; an SQS body 256 KiB of text, the base64 of the frame.
TOPIC_BYTES, QUEUE_BYTES = 1 << 20, 128 << 10


def envelope_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--envelope", choices=["zstd"], help="seal many events into each message: NDJSON compressed "
                   "with zstd (fewer messages and billed bytes; the worker opens them)")  # fmt: skip
    p.add_argument("--envelope-bytes", type=int, help="NDJSON bytes per envelope before compression (default "
                   f"{TOPIC_BYTES:,} for a topic, {QUEUE_BYTES:,} for a queue)")  # fmt: skip
    p.add_argument("--envelope-level", type=int, default=3, help="zstd level (default 3)")


def envelope_of(args: argparse.Namespace, *, queue: bool) -> Envelope | None:
    """The envelope the flags ask for (None: plain messages, one event each)."""
    if args.envelope is None:
        if args.envelope_bytes is not None:
            raise ConfigError("--envelope-bytes needs --envelope zstd")
        return None
    default = QUEUE_BYTES if queue else TOPIC_BYTES
    size = args.envelope_bytes if args.envelope_bytes is not None else default
    if size < 1:
        raise ConfigError(f"--envelope-bytes must be at least 1, got {size}")
    if queue and size > QUEUE_BYTES * 3 // 2:
        raise ConfigError(f"--envelope-bytes {size:,} is too many for SQS: its base64 may pass the 256 KiB body "
                          f"limit (at most {QUEUE_BYTES * 3 // 2:,})")  # fmt: skip
    return Envelope(args.envelope, max_bytes=size, level=args.envelope_level)
