"""Codec vs peers: decode the same receipts into the same typed Arrow table, timing and correctness side by side.

Run: ``make bench`` (1,000,000 events); CI runs it once on 20,000 events with timing disabled as a smoke test.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from conftest import SUMMARY, Dataset, Row
from peers import PEERS

from streamlake_fast import Codec
from streamlake_fast.generate import INVALID_KINDS, receipt_schema

SCHEMA = receipt_schema()
CODEC = Codec(SCHEMA)
OURS = {
    "streamlake_fast (list of messages)": lambda d: CODEC.decode(d.messages),
    "streamlake_fast (NDJSON buffer)": lambda d: CODEC.decode(d.ndjson),
}
SLOW = {"polars.read_ndjson", "msgspec + Table.from_pylist", "orjson + Table.from_pylist"}


def _time(benchmark: Any, fn: Callable[[], Any], rounds: int) -> tuple[Any, tuple[float, float] | None]:
    """Run ``fn`` ``rounds`` times (after one warm-up round when there are several); return (min, median) seconds."""
    gc.collect()
    result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1 if rounds > 1 else 0)
    stats = getattr(benchmark, "stats", None)
    return result, ((stats.stats.min, stats.stats.median) if stats else None)


def _check_ours(dataset: Dataset, result: Any) -> None:
    """The codec keeps every valid row in order and rejects each bad one with the expected code."""
    assert result.batch.num_rows == dataset.n - dataset.n_invalid
    got = [(r.index, r.code) for r in result.rejects]
    want = [(i, INVALID_KINDS[k]) for i, k in enumerate(dataset.kinds) if k is not None]
    assert got == want
    if dataset.reference is None:
        dataset.reference = pa.Table.from_batches([result.batch])


@pytest.mark.parametrize("dataset_name", ["clean", "dirty 1%"])
@pytest.mark.parametrize("impl", list(OURS))
def test_streamlake(benchmark: Any, datasets: dict[str, Dataset], impl: str, dataset_name: str) -> None:
    dataset = datasets[dataset_name]
    benchmark.group = f"decode receipts ({dataset_name})"
    result, seconds = _time(benchmark, lambda: OURS[impl](dataset), rounds=5)
    _check_ours(dataset, result)
    benchmark.extra_info.update(rows=result.batch.num_rows, rejects=len(result.rejects))
    outcome = (
        "reference"
        if dataset_name == "clean"
        else f"reference; {len(result.rejects):,} rejects, each with path and reason"
    )
    SUMMARY.rows.append(Row(dataset_name, impl, seconds, result.batch.num_rows, outcome))


@pytest.mark.parametrize("dataset_name", ["clean", "dirty 1%"])
@pytest.mark.parametrize("impl", list(PEERS))
def test_peer(benchmark: Any, datasets: dict[str, Dataset], impl: str, dataset_name: str) -> None:
    dataset = datasets[dataset_name]
    if dataset.reference is None:
        _check_ours(dataset, CODEC.decode(dataset.messages))
    benchmark.group = f"decode receipts ({dataset_name})"
    schema = SCHEMA.to_arrow()

    def run() -> pa.Table | Exception:
        try:
            return PEERS[impl](dataset.messages, dataset.ndjson, dataset.path, schema)
        except Exception as e:  # a bulk reader failing the whole batch is a result we record
            return e

    table, seconds = _time(benchmark, run, rounds=1 if impl in SLOW else 5)
    if isinstance(table, Exception):
        outcome = f"failed: whole batch lost ({type(table).__name__})"
        rows = 0
    else:
        equal = table.equals(dataset.reference)
        outcome = "equal" if equal else "DIFFERENT from streamlake_fast"
        rows = table.num_rows
        if dataset_name == "clean":
            assert equal, f"{impl} disagrees with streamlake_fast on clean receipts"
    benchmark.extra_info.update(rows=rows, outcome=outcome)
    SUMMARY.rows.append(Row(dataset_name, impl, seconds if rows else None, rows, outcome))
