"""Codec vs peers on five shapes of events (streamlake_fast/local/shapes.py): tiny IoT readings, a wide flat
table, logs with long escaped strings, nested game telemetry with a JSON column, and payments with
NUMERIC/BIGNUMERIC and UTC offsets.

Each shape is decoded single-threaded by the codec (a list of messages and one NDJSON buffer), by pyarrow.json
(``use_threads=False``, explicit schema) and by DuckDB (``threads=1``, ``read_json`` with explicit columns); every
table a peer produces must equal the codec's. A peer that cannot produce a column as the codec does (a BIGNUMERIC in
DuckDB, a JSON column in pyarrow.json) is compared on the other columns, and the summary says which and why. Then,
for two shapes, separate batches decoded by one and by two threads at once (``decode`` releases the GIL).

For scale, simdjson (pysimdjson) parses each shape as one JSON array of the events, building no table and converting
nothing: the speed of a parse-only reader on this machine, in the same run. pysimdjson hands simdjson its input with
``realloc_if_needed``, so that time includes one copy of the input into a padded buffer.

This VM's speed drifts by up to ±30% over minutes, so the implementations take turns: each shape is measured in
``STREAMLAKE_SHAPES_BENCH_PASSES`` passes (3), every implementation a few rounds per pass, and each one's best round
over all passes is reported; a slow minute then falls on all of them rather than on one.

Run: ``.venv/bin/python -m pytest benches/test_shapes_bench.py -q -s`` (each shape ~64 MB of JSON, a few minutes);
``STREAMLAKE_SHAPES_BENCH_EVENTS=n`` decodes n events per shape instead. CI's correctness smoke:
``STREAMLAKE_SHAPES_BENCH_EVENTS=2000 .venv/bin/python -m pytest benches/test_shapes_bench.py -q --benchmark-disable``
(with timing disabled and no count given, 2,000 events per shape, so ``pytest benches --benchmark-disable`` stays fast).
"""

from __future__ import annotations

import functools
import gc
import io
import os
import statistics
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.json as pj
import pytest
import simdjson

from streamlake_fast import Codec, DecodeResult, Schema
from streamlake_fast.local.shapes import SHAPES, Fields, logs, payments, telemetry

_EVENTS_ENV = os.environ.get("STREAMLAKE_SHAPES_BENCH_EVENTS")
TARGET_BYTES = 64_000_000  # the size of each shape when STREAMLAKE_SHAPES_BENCH_EVENTS is not set
SMOKE_EVENTS = 2_000  # ... unless timing is disabled (a correctness smoke such as `pytest benches --benchmark-disable`)
SEED = 11
ROUNDS = 3  # per pass
PASSES = int(os.environ.get("STREAMLAKE_SHAPES_BENCH_PASSES", "3"))
THREAD_SHAPES = ("iot", "logs")
THREAD_BATCHES = 16


def events_for(shape: str, timed: bool) -> int:
    """STREAMLAKE_SHAPES_BENCH_EVENTS; else as many events as make ~TARGET_BYTES of this shape, or SMOKE_EVENTS."""
    if _EVENTS_ENV:
        return int(_EVENTS_ENV)
    if not timed:
        return SMOKE_EVENTS
    _, sample = SHAPES[shape](1_000, SEED)
    return max(1_000, TARGET_BYTES * len(sample) // sum(map(len, sample)))


@dataclass
class ShapeData:
    name: str
    fields: Fields
    codec: Codec
    messages: list[bytes]
    ndjson: bytes
    path: Path
    reference: pa.Table | None = None

    @property
    def n(self) -> int:
        return len(self.messages)

    @property
    def arrow_schema(self) -> pa.Schema:
        return self.codec.schema.to_arrow()

    @functools.cached_property
    def json_bytes(self) -> int:
        return sum(map(len, self.messages))

    @functools.cached_property
    def json_array(self) -> bytes:
        """The events as one JSON array (what a whole-document parser such as simdjson takes)."""
        return b"[" + b",".join(self.messages) + b"]"

    @functools.cached_property
    def simdjson_parser(self) -> simdjson.Parser:
        return simdjson.Parser()


# ---- peers ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The top-level columns a peer reads, and those it cannot produce as the codec does (column → reason)."""

    columns: list[str]
    dropped: dict[str, str]
    caveats: tuple[str, ...] = ()


class CannotRead(Exception):
    """A peer has no way to produce this BigQuery type as the codec does."""


_PYARROW_CANNOT = {
    "JSON": "pyarrow.json has no JSON-text type: it reads an object into a struct, never into its text",
    "BYTES": "pyarrow.json does not base64-decode BYTES",
}


def _check_pyarrow(f: dict[str, Any]) -> None:
    if f["type"].upper() in _PYARROW_CANNOT:
        raise CannotRead(_PYARROW_CANNOT[f["type"].upper()])
    for child in f.get("fields", []):
        _check_pyarrow(child)


@functools.cache
def duckdb_has_icu() -> bool:
    """Whether DuckDB can read TIMESTAMPTZ in UTC here (the icu extension, built in or loadable)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


_DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "INTEGER": "BIGINT",
    "FLOAT64": "DOUBLE",
    "FLOAT": "DOUBLE",
    "NUMERIC": "DECIMAL(38,9)",
    "DECIMAL": "DECIMAL(38,9)",
    "BOOL": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
    "DATE": "DATE",
    "TIME": "TIME",
    "DATETIME": "TIMESTAMP",
    "JSON": "JSON",
}
_DUCKDB_CANNOT = {
    "BIGNUMERIC": "DuckDB's DECIMAL holds at most 38 digits: no 256-bit decimal for BIGNUMERIC (76 digits, scale 38)",
    "BIGDECIMAL": "DuckDB's DECIMAL holds at most 38 digits: no 256-bit decimal for BIGNUMERIC (76 digits, scale 38)",
    "BYTES": "DuckDB's read_json does not base64-decode BYTES",
}
_DUCKDB_NO_ICU = "TIMESTAMPTZ needs DuckDB's icu extension, unavailable here (TIMESTAMP alone ignores UTC offsets)"
_DUCKDB_JSON_CAVEAT = (
    "DuckDB re-serialises JSON text (2.50 → 2.5, \\u00e9 → é, 1e-05 → 0.00001): its JSON column equals the codec's "
    "only because this payload is written in that form already (compact, shortest numbers, raw UTF-8)"
)


def duckdb_type(f: dict[str, Any]) -> str:
    """The DuckDB type ``read_json`` needs to read BigQuery field ``f`` as the codec does; CannotRead if none."""
    type_ = f["type"].upper()
    if type_ in _DUCKDB_CANNOT:
        raise CannotRead(_DUCKDB_CANNOT[type_])
    if type_ == "TIMESTAMP" and not duckdb_has_icu():
        raise CannotRead(_DUCKDB_NO_ICU)
    if type_ in ("RECORD", "STRUCT"):
        base = "STRUCT(" + ", ".join(f'"{child["name"]}" {duckdb_type(child)}' for child in f["fields"]) + ")"
    else:
        base = _DUCKDB_TYPES[type_]
    return f"{base}[]" if f.get("mode", "NULLABLE").upper() == "REPEATED" else base


def _has_type(f: dict[str, Any], type_: str) -> bool:
    return f["type"].upper() == type_ or any(_has_type(child, type_) for child in f.get("fields", []))


def _plan(fields: Fields, check: Callable[[dict[str, Any]], Any], caveats: dict[str, str] | None = None) -> Plan:
    columns, dropped = [], {}
    for f in fields:
        try:
            check(f)
            columns.append(f["name"])
        except CannotRead as e:
            dropped[f["name"]] = str(e)
    kept = [f for f in fields if f["name"] in columns]
    notes = tuple(note for type_, note in (caveats or {}).items() if any(_has_type(f, type_) for f in kept))
    return Plan(columns, dropped, notes)


def pyarrow_plan(fields: Fields) -> Plan:
    return _plan(fields, _check_pyarrow)


def duckdb_plan(fields: Fields) -> Plan:
    return _plan(fields, duckdb_type, {"JSON": _DUCKDB_JSON_CAVEAT})


def run_pyarrow_json(data: ShapeData, columns: list[str]) -> pa.Table:
    schema = pa.schema([data.arrow_schema.field(c) for c in columns])
    table = pj.read_json(
        io.BytesIO(data.ndjson),
        read_options=pj.ReadOptions(use_threads=False, block_size=16 << 20),
        parse_options=pj.ParseOptions(
            explicit_schema=schema,
            unexpected_field_behavior="error" if len(columns) == len(data.fields) else "ignore",
        ),
    )
    return table.cast(schema)


def run_duckdb(data: ShapeData, columns: list[str]) -> pa.Table:
    types = {f["name"]: duckdb_type(f) for f in data.fields if f["name"] in columns}
    con = duckdb.connect(config={"threads": 1})
    try:
        if duckdb_has_icu():
            con.execute("SET TimeZone = 'UTC'")
        rel = con.read_json(str(data.path), columns=types, format="newline_delimited")
        table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
    finally:
        con.close()
    return table.cast(pa.schema([data.arrow_schema.field(c) for c in columns]))


def run_simdjson(data: ShapeData) -> int:
    """Parse the events with simdjson, converting nothing (the proxies are lazy): the number of events."""
    doc = data.simdjson_parser.parse(data.json_array)
    events = len(doc)
    del doc  # a parser is reused only once no proxy holds its document
    return events


CODEC_LIST = "streamlake_fast (list of messages)"
CODEC_NDJSON = "streamlake_fast (NDJSON buffer)"
PYARROW = "pyarrow.json (1 thread)"
DUCKDB = "duckdb read_json (1 thread)"
OURS: dict[str, Callable[[ShapeData], DecodeResult]] = {
    CODEC_LIST: lambda d: d.codec.decode(d.messages),
    CODEC_NDJSON: lambda d: d.codec.decode(d.ndjson),
}
PEERS: dict[str, tuple[Callable[[Fields], Plan], Callable[[ShapeData, list[str]], pa.Table]]] = {
    PYARROW: (pyarrow_plan, run_pyarrow_json),
    DUCKDB: (duckdb_plan, run_duckdb),
}
SIMDJSON = "simdjson parse only (pysimdjson, no table)"
PARSE_ONLY: dict[str, Callable[[ShapeData], int]] = {SIMDJSON: run_simdjson}
IDS = {
    CODEC_LIST: "codec-list",
    CODEC_NDJSON: "codec-ndjson",
    PYARROW: "pyarrow-1t",
    DUCKDB: "duckdb-1t",
    SIMDJSON: "simdjson-parse",
}


# ---- summary -------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    shape: str
    implementation: str
    seconds: tuple[float, float] | None  # (min, median) over the rounds; None when timing is disabled
    outcome: str


@dataclass
class ThreadRow:
    shape: str
    threads: int
    batches: int
    seconds: float | None


@dataclass
class ShapeSummary:
    sizes: dict[str, tuple[int, float]] = field(default_factory=dict)  # shape → (events, JSON bytes per event)
    rows: list[Row] = field(default_factory=list)
    threads: list[ThreadRow] = field(default_factory=list)
    limits: dict[tuple[str, str], Plan] = field(default_factory=dict)  # (shape, peer) → what it could not read


SUMMARY = ShapeSummary()


def _best(shape: str, implementation: str) -> float | None:
    times = [
        r.seconds[0] for r in SUMMARY.rows if r.shape == shape and r.implementation == implementation and r.seconds
    ]
    return min(times) if times else None


def _peer_cells(shape: str, peer: str, codec: float | None, events: int) -> tuple[str, str]:
    """(µs/event, how many times faster the codec is), with † when the peer read fewer columns."""
    plan = SUMMARY.limits.get((shape, peer))
    mark = " †" if plan and (plan.dropped or plan.caveats) else ""
    if plan and not plan.columns:
        return "cannot †", "-"
    seconds = _best(shape, peer)
    if seconds is None:
        return "-", "-"
    ratio = f"{seconds / codec:.1f}x{mark}" if codec else "-"
    return f"{seconds / events * 1e6:.2f}{mark}", ratio


def _cannot(shape: str, implementation: str) -> bool:
    return any(
        r.shape == shape and r.implementation == implementation and r.outcome.startswith("cannot") for r in SUMMARY.rows
    )


def _shape_table(tr: pytest.TerminalReporter) -> None:
    timed = any(r.seconds for r in SUMMARY.rows)
    how = (
        f"best of {PASSES} passes x {ROUNDS} rounds, the implementations taking turns"
        if timed
        else "timing disabled: sizes and correctness only"
    )
    tr.write_sep("=", f"decode each shape in one call, single thread ({how})")
    tr.write_line(
        "| shape | events | bytes/event | codec µs/event (list / NDJSON) | codec MB/s (list / NDJSON) "
        "| pyarrow.json µs/event | codec vs pyarrow.json | DuckDB µs/event | codec vs DuckDB "
        "| simdjson parse-only MB/s | codec speed / parse-only |"
    )
    tr.write_line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for shape, (events, per_event) in SUMMARY.sizes.items():
        codec = {impl: _best(shape, impl) for impl in OURS}
        us = " / ".join(f"{s / events * 1e6:.2f}" if s else "-" for s in codec.values())
        mbs = " / ".join(f"{events * per_event / s / 1e6:,.0f}" if s else "-" for s in codec.values())
        pa_us, pa_ratio = _peer_cells(shape, PYARROW, codec[CODEC_NDJSON], events)
        dk_us, dk_ratio = _peer_cells(shape, DUCKDB, codec[CODEC_NDJSON], events)
        parse = _best(shape, SIMDJSON)
        parse_mbs, parse_ratio = (
            (f"{events * per_event / parse / 1e6:,.0f}", f"{parse / codec[CODEC_NDJSON]:.2f}")
            if parse and codec[CODEC_NDJSON]
            else ("cannot" if _cannot(shape, SIMDJSON) else "-", "-")
        )
        tr.write_line(
            f"| {shape} | {events:,} | {per_event:,.0f} | {us} | {mbs} | {pa_us} | {pa_ratio} | {dk_us} | {dk_ratio} "
            f"| {parse_mbs} | {parse_ratio} |"
        )
    tr.write_line("(codec vs peer: the peer's best time over the codec's on the same NDJSON buffer; † see below)")
    tr.write_line(
        "(codec speed / parse-only: above 1.00, the codec validates and builds Arrow faster than simdjson parses)"
    )


def _limits(tr: pytest.TerminalReporter) -> None:
    tr.write_sep("-", "peer limitations (†): compared on the columns the peer can produce, with these caveats")
    for (shape, peer), plan in SUMMARY.limits.items():
        for column, reason in plan.dropped.items():
            tr.write_line(f"- {shape} / {peer}: column `{column}` not read or compared: {reason}")
        for note in plan.caveats:
            tr.write_line(f"- {shape} / {peer}: {note}")


def _details(tr: pytest.TerminalReporter) -> None:
    tr.write_sep("-", "every implementation: µs per event (best round, median of the passes' medians) and its check")
    tr.write_line("| shape | implementation | µs/event best | µs/event median | MB/s | outcome |")
    tr.write_line("|---|---|---:|---:|---:|---|")
    runs: dict[tuple[str, str], list[Row]] = {}
    for r in SUMMARY.rows:
        runs.setdefault((r.shape, r.implementation), []).append(r)
    for (shape, implementation), rows in runs.items():
        events, per_event = SUMMARY.sizes[shape]
        timed = [r.seconds for r in rows if r.seconds]
        best_s = min(t[0] for t in timed) if timed else None
        median_s = statistics.median(t[1] for t in timed) if timed else None
        best, median, mbs = (
            (f"{best_s / events * 1e6:.2f}", f"{median_s / events * 1e6:.2f}",
             f"{events * per_event / best_s / 1e6:,.0f}") if best_s and median_s else ("-", "-", "-")
        )  # fmt: skip
        tr.write_line(f"| {shape} | {implementation} | {best} | {median} | {mbs} | {rows[0].outcome} |")


def _thread_table(tr: pytest.TerminalReporter) -> None:
    tr.write_sep("=", "codec, separate batches decoded concurrently by a thread pool: events/s (best of the rounds)")
    tr.write_line("| shape | threads | batches | events/s | vs 1 thread |")
    tr.write_line("|---|---:|---:|---:|---:|")
    best: dict[tuple[str, int], ThreadRow] = {}
    for r in SUMMARY.threads:
        key = (r.shape, r.threads)
        kept = best.get(key)
        if kept is None or (r.seconds is not None and (kept.seconds is None or r.seconds < kept.seconds)):
            best[key] = r
    for (shape, threads), r in best.items():
        events = SUMMARY.sizes[shape][0]
        rate = f"{events / r.seconds:,.0f}" if r.seconds else "-"
        base = best[(shape, 1)].seconds if (shape, 1) in best else None
        ratio = f"{base / r.seconds:.2f}x" if (r.seconds and base) else "-"
        tr.write_line(f"| {shape} | {threads} | {r.batches} | {rate} | {ratio} |")


class _Report:
    """Prints the tables at the end of the run (this module cannot add a hook to benches/conftest.py)."""

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if SUMMARY.rows:
            _shape_table(terminalreporter)
            _limits(terminalreporter)
            _details(terminalreporter)
        if SUMMARY.threads:
            _thread_table(terminalreporter)


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("streamlake-shapes-report"):
        manager.register(_Report(), "streamlake-shapes-report")


# ---- data ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def load(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], ShapeData]]:
    """``load(shape)``: the shape's data, generated on first use; one shape is kept in memory at a time."""
    directory = tmp_path_factory.mktemp("shapes")
    timed = not request.config.getoption("benchmark_disable", default=False)
    loaded: dict[str, ShapeData] = {}

    def get(name: str) -> ShapeData:
        if name not in loaded:
            for old in loaded.values():
                old.path.unlink(missing_ok=True)
            loaded.clear()
            gc.collect()
            fields, messages = SHAPES[name](events_for(name, timed), SEED)
            ndjson = b"\n".join(messages)
            path = directory / f"{name}.ndjson"
            path.write_bytes(ndjson)
            data = ShapeData(name, fields, Codec(Schema.from_bigquery(fields)), messages, ndjson, path)
            SUMMARY.sizes[name] = (data.n, data.json_bytes / data.n)
            loaded[name] = data
        return loaded[name]

    yield get
    loaded.clear()


def _time(benchmark: Any, fn: Callable[[], Any], rounds: int = ROUNDS) -> tuple[Any, tuple[float, float] | None]:
    """Run ``fn`` ``rounds`` times after one warm-up round; return its result and (min, median) seconds."""
    gc.collect()
    result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
    stats = getattr(benchmark, "stats", None)
    return result, ((stats.stats.min, stats.stats.median) if stats else None)


def _assert_all_valid(data: ShapeData, result: DecodeResult) -> None:
    assert not result.rejects, f"{data.name}: the generator wrote invalid events, first: {result.rejects[0]}"
    assert result.batch.num_rows == data.n


def _reference(data: ShapeData) -> pa.Table:
    if data.reference is None:
        result = data.codec.decode(data.messages)
        _assert_all_valid(data, result)
        data.reference = pa.Table.from_batches([result.batch])
    return data.reference


def _difference(want: pa.Table, got: pa.Table) -> str | None:
    """None when the tables are equal, else where they first differ."""
    if got.num_rows != want.num_rows:
        return f"{got.num_rows:,} rows, the codec has {want.num_rows:,}"
    if got.schema != want.schema:
        return f"schema {got.schema} is not the codec's {want.schema}"
    for name in want.column_names:
        a, b = want.column(name).combine_chunks(), got.column(name).combine_chunks()
        if not a.equals(b):
            row = next(i for i in range(len(a)) if not a.slice(i, 1).equals(b.slice(i, 1)))
            return f"column {name}, row {row}: codec {a[row]!r}, peer {b[row]!r}"
    return None if got.equals(want) else "the tables differ"


# ---- tests ---------------------------------------------------------------------------------------------------------

# Each shape's implementations take turns, pass after pass (pytest runs the cases in this order).
CASES = [(shape, impl, n) for shape in SHAPES for n in range(PASSES) for impl in [*OURS, *PEERS, *PARSE_ONLY]]


@pytest.mark.parametrize(("shape", "impl", "pass_"), CASES, ids=[f"{s}-{IDS[i]}-pass{n}" for s, i, n in CASES])
def test_shape(benchmark: Any, load: Callable[[str], ShapeData], shape: str, impl: str, pass_: int) -> None:
    data = load(shape)
    benchmark.group = f"decode {shape} ({SUMMARY.sizes[shape][1]:,.0f} bytes/event)"
    if impl in OURS:
        _bench_codec(benchmark, data, impl)
    elif impl in PARSE_ONLY:
        _bench_parse_only(benchmark, data, impl)
    else:
        _bench_peer(benchmark, data, impl)


def _bench_codec(benchmark: Any, data: ShapeData, impl: str) -> None:
    result, seconds = _time(benchmark, lambda: OURS[impl](data))
    _assert_all_valid(data, result)
    table = pa.Table.from_batches([result.batch])
    if data.reference is None:
        data.reference = table
    assert table.equals(data.reference), f"{data.name}: the list and NDJSON decodes differ"
    benchmark.extra_info.update(events=data.n, bytes_per_event=data.json_bytes / data.n)
    SUMMARY.rows.append(Row(data.name, impl, seconds, f"reference, {data.n:,} rows, no rejects"))


def _bench_peer(benchmark: Any, data: ShapeData, impl: str) -> None:
    make_plan, run = PEERS[impl]
    plan = make_plan(data.fields)
    SUMMARY.limits[(data.name, impl)] = plan
    if not plan.columns:
        SUMMARY.rows.append(Row(data.name, impl, None, "cannot: " + "; ".join(sorted(set(plan.dropped.values())))))
        return
    want = _reference(data).select(plan.columns)
    table, seconds = _time(benchmark, lambda: run(data, plan.columns))
    problem = _difference(want, table)
    assert problem is None, f"{impl} disagrees with streamlake_fast on {data.name}: {problem}"
    outcome = "equal"
    if plan.dropped:
        outcome += f" on {len(plan.columns)} of {len(data.fields)} columns (not {', '.join(plan.dropped)})"
    if plan.dropped or plan.caveats:
        outcome += " †"
    benchmark.extra_info.update(columns=len(plan.columns), dropped=list(plan.dropped))
    SUMMARY.rows.append(Row(data.name, impl, seconds, outcome))


def _bench_parse_only(benchmark: Any, data: ShapeData, impl: str) -> None:
    try:
        PARSE_ONLY[impl](data)
    except (ValueError, RuntimeError) as e:  # e.g. simdjson's BIGINT_ERROR on an integer above 2^64
        SUMMARY.rows.append(Row(data.name, impl, None, f"cannot: {e}"))
        pytest.skip(f"{impl} cannot parse {data.name}: {e}")
    events, seconds = _time(benchmark, lambda: PARSE_ONLY[impl](data))
    assert events == data.n, f"{impl} parsed {events:,} events of {data.n:,}"
    SUMMARY.rows.append(Row(data.name, impl, seconds, f"parsed {events:,} events, no table built"))


def _batches(messages: list[bytes], count: int) -> list[list[bytes]]:
    size = -(-len(messages) // count)
    return [messages[i : i + size] for i in range(0, len(messages), size)]


THREAD_CASES = [(shape, threads, n) for shape in THREAD_SHAPES for n in range(PASSES) for threads in (1, 2)]


@pytest.mark.parametrize(
    ("shape", "threads", "pass_"), THREAD_CASES, ids=[f"{s}-{t}t-pass{n}" for s, t, n in THREAD_CASES]
)
def test_threads(benchmark: Any, load: Callable[[str], ShapeData], shape: str, threads: int, pass_: int) -> None:
    data = load(shape)
    want = _reference(data)
    batches = _batches(data.messages, THREAD_BATCHES)
    benchmark.group = f"decode {shape} in {len(batches)} batches, concurrently"
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results, seconds = _time(benchmark, lambda: list(pool.map(data.codec.decode, batches)))
    assert not any(r.rejects for r in results)
    assert pa.Table.from_batches([r.batch for r in results]).equals(want)
    benchmark.extra_info.update(threads=threads, batches=len(batches))
    SUMMARY.threads.append(ThreadRow(shape, threads, len(batches), seconds[0] if seconds else None))


# ---- the generators themselves (small, fast) ----------------------------------------------------------------------

VARIATIONS: list[tuple[str, dict[str, Any]]] = [
    ("iot", {"extra_metrics": 12, "null_fraction": 0.5}),
    ("wide", {"columns": 7, "required_every": 1}),
    ("wide", {"columns": 300, "string_length": (0, 300), "null_fraction": 0.6}),
    ("logs", {"message_length": (0, 6_000), "non_ascii_fraction": 0.6, "special_fraction": 0.2}),
    ("logs", {"escape_density": 1.0, "null_fraction": 1.0}),
    ("telemetry", {"depth": 1, "json_keys": 0}),
    ("telemetry", {"depth": 7, "array_length": (0, 2), "players": (0, 2), "json_keys": 40}),
    ("payments", {"string_fraction": 0.0, "numeric_digits": (29, 29), "bignumeric_digits": (38, 38)}),
    ("payments", {"string_fraction": 1.0, "offsets": ("+14:00", "-12:00", "Z"), "bignumeric_scale": (38, 38)}),
]


@pytest.mark.parametrize(("shape", "variation"), VARIATIONS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(VARIATIONS)])
def test_generator_variation_is_valid(shape: str, variation: dict[str, Any]) -> None:
    fields, messages = SHAPES[shape](300, 3, **variation)
    assert SHAPES[shape](300, 3, **variation) == (fields, messages), "not deterministic"
    assert SHAPES[shape](300, 4, **variation)[1] != messages, "the seed changes nothing"
    result = Codec(Schema.from_bigquery(fields)).decode(messages)
    assert not result.rejects, result.rejects[0]
    assert result.batch.num_rows == 300


def test_logs_escapes_decode_to_the_same_text() -> None:
    """The same seed with no, half and all non-ASCII characters escaped decodes to one table; half means ~half."""
    tables = []
    for density in (0.0, 0.5, 1.0):
        fields, messages = logs(300, 5, escape_density=density)
        result = Codec(Schema.from_bigquery(fields)).decode(messages)
        assert not result.rejects
        tables.append(result.batch)
        if density == 0.5:
            raw = b"".join(messages).decode()
            escaped = raw.count("\\u") - raw.count("\\uD8") - raw.count("\\ud8")  # a surrogate pair is one character
            non_ascii = sum(ch > "\x7f" for text in result.batch.column("message").to_pylist() for ch in text)
            assert 0.4 < escaped / non_ascii < 0.6, escaped / non_ascii
    assert tables[0].equals(tables[1])
    assert tables[0].equals(tables[2])


def test_shapes_exercise_what_they_claim() -> None:
    """Telemetry nests a RECORD inside REPEATED RECORDs three deep; payments mix numbers, strings and offsets."""
    fields, _ = telemetry(1, 1)
    players = next(f for f in fields if f["name"] == "players")
    hits = players["fields"][-1]["fields"][-1]
    assert [players["mode"], players["fields"][-1]["mode"], hits["mode"]] == ["REPEATED"] * 3
    assert any(f["type"] == "RECORD" and f["mode"] != "REPEATED" for f in hits["fields"])
    _, messages = payments(500, 1)
    text = b"\n".join(messages).decode()
    for needle in ('"amount":"', '"ledger_balance":"', '+05:30"', '-08:00"', 'Z"'):
        assert needle in text, needle
    assert any(m.split(b'"amount":')[1][:1].isdigit() for m in messages)
