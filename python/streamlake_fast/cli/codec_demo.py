"""``streamlake codec-demo``: generated receipts through the codec alone, in memory, with throughput and
rejects (the whole pipeline is ``streamlake demo``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from streamlake_fast.cli.progress import Progress
from streamlake_fast.codec.codec import Codec, Reject
from streamlake_fast.local.generate import receipt_batches, receipt_schema

__all__ = ["CodecDemoResult", "run_codec_demo"]


@dataclass
class CodecDemoResult:
    progress: Progress
    sample_rejects: list[Reject]
    parquet: Path | None


def run_codec_demo(
    events: int,
    *,
    batch_size: int = 10_000,
    invalid_fraction: float = 0.01,
    seed: int = 42,
    out: Path | None = None,
    stream: TextIO | None = None,
) -> CodecDemoResult:
    """Generate ``events`` receipts, decode them in batches (as a worker would per pull), optionally write Parquet."""
    schema = receipt_schema()
    codec = Codec(schema)
    progress = Progress(label="demo") if stream is None else Progress(label="demo", stream=stream)
    writer = pq.ParquetWriter(out, schema.to_arrow(), compression="zstd") if out else None
    samples: list[Reject] = []
    offset = 0
    try:
        for batch in receipt_batches(events, batch_size, seed=seed, invalid_fraction=invalid_fraction):
            cpu0 = time.thread_time()
            result = codec.decode(batch)
            cpu = time.thread_time() - cpu0
            if writer is not None and result.num_rows:
                writer.write_table(pa.Table.from_batches([result.batch]))
            for r in result.rejects[: max(0, 5 - len(samples))]:
                samples.append(Reject(r.index + offset, r.code, r.path, r.message))
            progress.add(len(batch), result.num_rows, [r.code for r in result.rejects], cpu)
            offset += len(batch)
    finally:
        if writer is not None:
            writer.close()
    return CodecDemoResult(progress, samples, out)
