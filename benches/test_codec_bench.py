"""Codec vs peers: decode the same receipts into the same typed Arrow table, timing and correctness side by side.

This VM's speed drifts by up to ±30% over minutes, so the implementations take turns: each dataset is measured in
``STREAMLAKE_BENCH_PASSES`` passes (3), every implementation two rounds per pass (the slow per-message peers one
round, in the first pass only), and each one's best and median over all its rounds are reported.

Run: ``make bench`` (1,000,000 events); CI runs it once on 20,000 events with timing disabled as a smoke test.
"""

from __future__ import annotations

import gc
import os
import statistics
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from conftest import DATASETS, SUMMARY, Dataset, Row
from peers import PEERS

from streamlake_fast import Codec
from streamlake_fast.local.generate import INVALID_KINDS, receipt_schema

SCHEMA = receipt_schema()
CODEC = Codec(SCHEMA)
OURS = {
    "streamlake_fast (list of messages)": lambda d: CODEC.decode(d.messages),
    "streamlake_fast (NDJSON buffer)": lambda d: CODEC.decode(d.ndjson),
}
SLOW = {"polars.read_ndjson", "msgspec + Table.from_pylist", "orjson + Table.from_pylist"}
PASSES = int(os.environ.get("STREAMLAKE_BENCH_PASSES", "3"))
ROUNDS = 2  # per pass
# Each dataset's implementations take turns, pass after pass (pytest runs the cases in this order).
CASES = [
    (name, impl, n)
    for name in DATASETS
    for n in range(PASSES)
    for impl in [*OURS, *PEERS]
    if impl not in SLOW or n == 0
]
ROUND_TIMES: dict[tuple[str, str], list[float]] = {}


def _time(
    benchmark: Any, key: tuple[str, str], fn: Callable[[], Any], rounds: int, warm_up: bool
) -> tuple[Any, tuple[float, float] | None]:
    """Run ``fn`` ``rounds`` times (after a warm-up round when asked); return its result and (min, median) seconds
    over every round this implementation has had on this dataset so far, this pass's included."""
    gc.collect()
    result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1 if warm_up else 0)
    stats = getattr(benchmark, "stats", None)
    if not stats:
        return result, None
    times = ROUND_TIMES.setdefault(key, [])
    times.extend(stats.stats.data)
    return result, (min(times), statistics.median(times))


def _record(row: Row) -> None:
    """Keep one summary row per (dataset, implementation): the latest pass's, which covers all rounds so far."""
    SUMMARY.rows[:] = [r for r in SUMMARY.rows if (r.dataset, r.implementation) != (row.dataset, row.implementation)]
    SUMMARY.rows.append(row)


def _check_ours(dataset: Dataset, result: Any) -> None:
    """The codec keeps every valid row in order and rejects each bad one with the expected code."""
    assert result.batch.num_rows == dataset.n - dataset.n_invalid
    got = [(r.index, r.code) for r in result.rejects]
    want = [(i, INVALID_KINDS[k]) for i, k in enumerate(dataset.kinds) if k is not None]
    assert got == want
    if dataset.reference is None:
        dataset.reference = pa.Table.from_batches([result.batch])


@pytest.mark.parametrize(("dataset_name", "impl", "pass_"), CASES, ids=[f"{d}-{i}-pass{n}" for d, i, n in CASES])
def test_decode(benchmark: Any, datasets: dict[str, Dataset], dataset_name: str, impl: str, pass_: int) -> None:
    dataset = datasets[dataset_name]
    benchmark.group = f"decode receipts ({dataset_name})"
    if impl in OURS:
        _bench_ours(benchmark, dataset, impl, pass_)
    else:
        _bench_peer(benchmark, dataset, impl, pass_)


def _bench_ours(benchmark: Any, dataset: Dataset, impl: str, pass_: int) -> None:
    key = (dataset.name, impl)
    result, seconds = _time(benchmark, key, lambda: OURS[impl](dataset), rounds=ROUNDS, warm_up=pass_ == 0)
    _check_ours(dataset, result)
    benchmark.extra_info.update(rows=result.batch.num_rows, rejects=len(result.rejects))
    outcome = (
        "reference"
        if dataset.name == "clean"
        else f"reference; {len(result.rejects):,} rejects, each with path and reason"
    )
    _record(Row(dataset.name, impl, seconds, result.batch.num_rows, outcome))


def _bench_peer(benchmark: Any, dataset: Dataset, impl: str, pass_: int) -> None:
    if dataset.reference is None:
        _check_ours(dataset, CODEC.decode(dataset.messages))
    schema = SCHEMA.to_arrow()

    def run() -> pa.Table | Exception:
        try:
            return PEERS[impl](dataset.messages, dataset.ndjson, dataset.path, schema)
        except Exception as e:  # a bulk reader failing the whole batch is a result we record
            return e

    slow = impl in SLOW
    key = (dataset.name, impl)
    table, seconds = _time(benchmark, key, run, rounds=1 if slow else ROUNDS, warm_up=pass_ == 0 and not slow)
    if isinstance(table, Exception):
        outcome = f"failed: whole batch lost ({type(table).__name__})"
        rows = 0
    else:
        equal = table.equals(dataset.reference)
        outcome = "equal" if equal else "DIFFERENT from streamlake_fast"
        rows = table.num_rows
        if dataset.name == "clean":
            assert equal, f"{impl} disagrees with streamlake_fast on clean receipts"
    benchmark.extra_info.update(rows=rows, outcome=outcome)
    _record(Row(dataset.name, impl, seconds if rows else None, rows, outcome))
