"""The extension's memory is reused from batch to batch (mimalloc, rust/src/lib.rs): a worker decodes batch after
batch, and fresh pages for every batch's Arrow buffers cost 30-40% of the decode time on long strings."""

from __future__ import annotations

import json
import resource

from streamlake_fast import Codec, Schema

BATCH_BYTES = 40_000_000  # above glibc's largest mmap threshold (32 MiB), where the system allocator always maps anew
PAGE = resource.getpagesize()


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_a_second_batch_reuses_the_first_batchs_pages() -> None:
    codec = Codec(Schema.from_bigquery([{"name": "msg", "type": "STRING", "mode": "REQUIRED"}]))
    line = json.dumps({"msg": "x" * 1_000}).encode()
    buf = b"\n".join([line] * (BATCH_BYTES // (len(line) + 1)))
    faults = []
    for _ in range(3):
        before = minor_faults()
        result = codec.decode(buf)
        assert result.batch.num_rows == buf.count(b"\n") + 1 and not result.rejects
        del result
        faults.append(minor_faults() - before)
    output_pages = BATCH_BYTES // PAGE
    # the first batch may fault its pages in; the later ones find them mapped (a fresh mapping faults ~output_pages)
    assert max(faults[1:]) < output_pages // 20, (faults, output_pages)
