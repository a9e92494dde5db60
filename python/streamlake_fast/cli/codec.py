"""``streamlake decode`` and ``streamlake codec-demo``: the codec alone."""

from __future__ import annotations

import argparse
import json
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

from streamlake_fast.codec.codec import Codec
from streamlake_fast.codec.schema import Schema

__all__ = ["codec_demo", "decode"]


def codec_demo(args: argparse.Namespace) -> int:
    from streamlake_fast.cli.codec_demo import run_codec_demo

    if args.events <= 0:
        raise SystemExit("streamlake codec-demo: --events must be positive")
    print(f"decoding {args.events:,} generated receipts in batches of {args.batch_size:,} ...", file=sys.stderr)
    result = run_codec_demo(
        args.events,
        batch_size=args.batch_size,
        invalid_fraction=args.invalid_fraction,
        seed=args.seed,
        out=args.out,
    )
    p = result.progress
    print(p.line(), file=sys.stderr)
    print(f"events:            {p.events:,}")
    print(f"rows decoded:      {p.rows:,}")
    print(f"rejects:           {sum(p.rejects.values()):,}")
    for code, count in sorted(p.rejects.items()):
        print(f"  {code:<18} {count:,}")
    print(f"codec CPU time:    {p.cpu_seconds:.3f} s ({p.cpu_us_per_event:.3f} µs/event)")
    if p.cpu_seconds > 0:
        print(f"codec throughput:  {p.events / p.cpu_seconds:,.0f} events/s per core")
    print(f"wall time:         {p.elapsed:.1f} s (includes generating the receipts in Python)")
    for r in result.sample_rejects:
        print(f"  e.g. {r}")
    if result.parquet:
        print(f"parquet:           {result.parquet} ({result.parquet.stat().st_size:,} bytes)")
    return 0


def decode(args: argparse.Namespace) -> int:
    codec = Codec(Schema.from_bigquery(args.schema), unknown_fields=args.unknown_fields)
    data = args.input.read_bytes()
    start = time.perf_counter()
    result = codec.decode(data)
    seconds = time.perf_counter() - start
    if args.out:
        pq.write_table(pa.Table.from_batches([result.batch]), args.out, compression="zstd")
    if args.rejects:
        with args.rejects.open("w", encoding="utf-8") as f:
            for r in result.rejects:
                f.write(json.dumps(r.as_json()) + "\n")
    else:
        for r in result.rejects[:20]:
            print(f"line {r.index + 1}: {r.code} at {r.path or '(message)'}: {r.message}", file=sys.stderr)
    n = result.num_rows + len(result.rejects)
    print(
        f"{n:,} events: {result.num_rows:,} rows, {len(result.rejects):,} rejects, "
        f"{seconds * 1e6 / max(n, 1):.3f} µs/event"
    )
    return 1 if result.rejects else 0
