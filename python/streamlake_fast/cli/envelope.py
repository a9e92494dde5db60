"""The envelope flags the publishing commands share (``streamlake publish``, ``streamlake serve``), and
``streamlake dictionary train``."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from streamlake_fast.codec.envelope import DICTIONARY_BYTES, Dictionary, Envelope
from streamlake_fast.exceptions import ConfigError

__all__ = ["dictionary_command", "dictionary_parser", "envelope_arguments", "envelope_of"]

#: Events a dictionary is trained on, at most (zstd advises ~100 samples per dictionary KB).
TRAIN_EVENTS = 100_000

#: NDJSON bytes per envelope: a Pub/Sub message takes 10 MB; an SQS body 256 KiB of text, the base64 of the frame.
TOPIC_BYTES, QUEUE_BYTES = 1 << 20, 128 << 10


def envelope_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--envelope", choices=["zstd"], help="seal many events into each message: NDJSON compressed "
                   "with zstd (fewer messages and billed bytes; the worker opens them)")  # fmt: skip
    p.add_argument("--envelope-bytes", type=int, help="NDJSON bytes per envelope before compression (default "
                   f"{TOPIC_BYTES:,} for a topic, {QUEUE_BYTES:,} for a queue)")  # fmt: skip
    p.add_argument("--envelope-level", type=int, default=3, help="zstd level (default 3)")
    p.add_argument("--envelope-dictionary", type=Path, metavar="FILE", help="compress with this zstd dictionary "
                   "(`streamlake dictionary train`; workers load it with --envelope-dictionary)")  # fmt: skip


def envelope_of(args: argparse.Namespace, *, queue: bool) -> Envelope | None:
    """The envelope the flags ask for (None: plain messages, one event each)."""
    if args.envelope is None:
        for flag in ("envelope_bytes", "envelope_dictionary"):
            if getattr(args, flag) is not None:
                raise ConfigError(f"--{flag.replace('_', '-')} needs --envelope zstd")
        return None
    default = QUEUE_BYTES if queue else TOPIC_BYTES
    size = args.envelope_bytes if args.envelope_bytes is not None else default
    if size < 1:
        raise ConfigError(f"--envelope-bytes must be at least 1, got {size}")
    if queue and size > QUEUE_BYTES * 3 // 2:
        raise ConfigError(f"--envelope-bytes {size:,} is too many for SQS: its base64 may pass the 256 KiB body "
                          f"limit (at most {QUEUE_BYTES * 3 // 2:,})")  # fmt: skip
    dictionary = Dictionary.load(args.envelope_dictionary) if args.envelope_dictionary is not None else None
    return Envelope(args.envelope, max_bytes=size, level=args.envelope_level, dictionary=dictionary)


def dictionary_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("dictionary", help="zstd dictionaries for envelopes")
    train = d.add_subparsers(dest="dictionary_command", required=True).add_parser(
        "train", help="train a dictionary on a sample of the stream's events (small envelopes compress as well as "
        "large ones with it)")  # fmt: skip
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="from_file", type=Path, metavar="FILE",
                        help=f"an NDJSON file of events (its first {TRAIN_EVENTS:,} are used)")  # fmt: skip
    source.add_argument("--generate", type=int, metavar="N", help="train on N generated receipts (the demo's)")
    train.add_argument("--out", type=Path, required=True, help="where the dictionary goes")
    train.add_argument("--size", type=int, default=DICTIONARY_BYTES,
                       help=f"dictionary bytes, at most (default {DICTIONARY_BYTES:,})")  # fmt: skip


def dictionary_command(args: argparse.Namespace) -> int:
    if args.from_file is not None:
        try:
            with args.from_file.open("rb") as f:
                events = [line.strip() for line in itertools.islice(f, TRAIN_EVENTS) if line.strip()]
        except OSError as e:
            raise ConfigError(f"cannot read {args.from_file}: {e}") from None
    else:
        from streamlake_fast.local.generate import receipts

        events = [data for data, _ in receipts(min(args.generate, TRAIN_EVENTS))]
    dictionary = Dictionary.train(events, size=args.size)
    dictionary.save(args.out)
    print(f"dictionary {dictionary.id} ({len(dictionary.data):,} bytes) trained on {len(events):,} events → "
          f"{args.out}")  # fmt: skip
    return 0
