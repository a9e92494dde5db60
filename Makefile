# The two commands a fresh machine needs: `make demo` (the main job) and `make test`.
# Both create the virtualenv and build the extension in release mode first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Rust builds are incremental in a cache outside the clone (speed only; a clean target dir works too).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/streamlake_fast/target
# make demo: the demo's own default size (1,000,000 receipts; 20,000 with CLOUD=aws) unless EVENTS is given
EVENTS ?=
CLOUD ?= gcp
BENCH_EVENTS ?= 1000000
WORKER_BENCH_EVENTS ?= 200000
SQS_BENCH_EVENTS ?= 20000
BEAM_BENCH_EVENTS ?= 100000
LAKE ?= lake
DIST ?= dist

BQEMU_VENV := .venv-bqemu

.PHONY: venv build wheel wheel-abi3 wheel-smoke emulators test test-slow test-rust test-python bench bench-worker bench-sqs bench-beam bench-http bench-shapes bench-transform bench-smoke fuzz lint fmt demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "maturin>=1.7,<2" "ziglang>=0.13,<0.18"

venv: $(BIN)/python

# bqemulator (BigQuery emulator) in a virtualenv of its own: it pins duckdb, which the benchmarks also use.
# Google's Pub/Sub emulator ships with the machine (google-cloud-sdk, Java).
$(BQEMU_VENV)/bin/bqemulator:
	$(PYTHON) -m venv $(BQEMU_VENV)
	$(BQEMU_VENV)/bin/python -m pip install -q --upgrade pip
	$(BQEMU_VENV)/bin/python -m pip install -q "bqemulator==1.4.0" "duckdb==1.5.5" \
		"duckdb-extension-spatial==1.5.5" "numpy>=1.26,<3"

emulators: $(BQEMU_VENV)/bin/bqemulator

build: venv
	PIP_QUIET=1 VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(BIN)):$$PATH \
		$(BIN)/maturin develop --release --extras gcp,aws,beam,http,test,bench,lint -q

# The whole pipeline on this machine: the Pub/Sub emulator and bqemulator (started through the package's launcher
# with its offline workarounds), publish → worker → ./lake + the table, then a summary.
demo: build emulators
	STREAMLAKE_BQEMULATOR_PYTHON="$(abspath $(BQEMU_VENV))/bin/python" \
		$(BIN)/streamlake demo --cloud $(CLOUD) $(if $(EVENTS),--events $(EVENTS)) --lake $(LAKE)

test: build emulators test-rust test-python bench-smoke

test-rust:
	cargo test -q

# Every test but the full-volume end-to-end runs (marked slow, minutes each): make test-slow runs those; CI both.
test-python:
	$(BIN)/python -m pytest tests -q -m "not slow"

test-slow: build emulators
	$(BIN)/python -m pytest tests -q -m slow

# Benchmarks as a quick correctness smoke: each benchmark body runs once on a small data set.
bench-smoke:
	STREAMLAKE_BENCH_EVENTS=20000 STREAMLAKE_WORKER_BENCH_EVENTS=3000 STREAMLAKE_SQS_BENCH_EVENTS=1000 \
		STREAMLAKE_BEAM_BENCH_EVENTS=2000 STREAMLAKE_HTTP_BENCH_SINGLE=400 STREAMLAKE_HTTP_BENCH_BATCHED=2000 \
		STREAMLAKE_HTTP_BENCH_PUSHED=40 STREAMLAKE_TRANSFORM_BENCH_EVENTS=3000 STREAMLAKE_SHAPES_BENCH_EVENTS=2000 \
		$(BIN)/python -m pytest benches -q \
		--benchmark-disable

# The full benchmarks behind the README's tables (several minutes each).
# The HTTP services (serve, push-handler) against FastAPI and the Functions Framework, server CPU per event.
bench-http: build emulators
	$(BIN)/python -m pytest benches/test_http_bench.py -q

bench: build
	STREAMLAKE_BENCH_EVENTS=$(BENCH_EVENTS) $(BIN)/python -m pytest benches/test_codec_bench.py \
		benches/test_lake_bench.py -q \
		--benchmark-columns=min,median,mean,rounds --benchmark-sort=name --benchmark-group-by=group

# The codec on five event shapes (IoT, wide, logs, telemetry, payments) vs pyarrow.json and DuckDB, one thread each.
bench-shapes: build
	$(BIN)/python -m pytest benches/test_shapes_bench.py -q -s

bench-transform: build
	STREAMLAKE_TRANSFORM_BENCH_EVENTS=200000 $(BIN)/python -m pytest benches/test_transform_bench.py -q -s

bench-sqs: build
	STREAMLAKE_SQS_BENCH_EVENTS=$(SQS_BENCH_EVENTS) $(BIN)/python -m pytest benches/test_sqs_bench.py -q

# Beam's DirectRunner: our transforms vs json.loads + WriteToBigQuery(STREAMING_INSERTS), into bqemulator.
bench-beam: build emulators
	STREAMLAKE_BEAM_BENCH_EVENTS=$(BEAM_BENCH_EVENTS) $(BIN)/python -m pytest benches/test_beam_bench.py -q

bench-worker: build emulators
	STREAMLAKE_WORKER_BENCH_EVENTS=$(WORKER_BENCH_EVENTS) STREAMLAKE_SQS_BENCH_EVENTS=$(SQS_BENCH_EVENTS) \
		$(BIN)/python -m pytest benches/test_worker_bench.py benches/test_sqs_bench.py -q

# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, the nightly toolchain) of the codec (`decode`: generated schemas
# and messages, checked against serde_json) and of the wire readers (`wire`), FUZZ_SECONDS each. A crash leaves its
# input in fuzz/artifacts/<target>/; replay it with `cargo +nightly fuzz run <target> <file>`.
FUZZ_SECONDS ?= 60
FUZZ_TARGET_DIR ?= $(HOME)/.cache/streamlake_fast/fuzz-target
fuzz:
	cargo +nightly fuzz --version >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked -q
	for t in decode wire; do \
		cargo +nightly fuzz run --target-dir $(FUZZ_TARGET_DIR) -O $$t -- -max_total_time=$(FUZZ_SECONDS) \
			-rss_limit_mb=4096 -print_final_stats=1 || exit 1; \
	done

lint: build
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest streamlake_fast._native
	cargo fmt --check
	cargo fmt --check --manifest-path fuzz/Cargo.toml
	cargo clippy -q --all-targets --features python,mimalloc -- -D warnings

fmt:
	$(BIN)/ruff format python tests benches
	$(BIN)/ruff check --fix python tests benches
	cargo fmt
	cargo fmt --manifest-path fuzz/Cargo.toml

# Installable artifacts: an sdist and a wheel for glibc >= 2.17 (manylinux2014: AWS Lambda's Amazon Linux 2 and 2023,
# RHEL 7+, Debian 9+, Ubuntu 18.04+), linked by zig against that glibc whatever this machine's is.
wheel: venv
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/maturin build --release --zig --compatibility manylinux2014 -o $(DIST)
	$(BIN)/maturin sdist -o $(DIST)

# The wheel installed with plain pip into a fresh virtualenv (dependencies from PyPI), smoke-tested outside the tree.
# One wheel for every CPython ≥ 3.10 (the limited API; measured 3-8% slower on the hot path, see the README).
wheel-abi3: venv
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/maturin build --release --zig --compatibility manylinux2014 \
		--features abi3 -o $(DIST)

wheel-smoke: wheel
	rm -rf $(DIST)/venv && python3 -m venv $(DIST)/venv
	$(DIST)/venv/bin/pip install -q "$$(ls $(DIST)/streamlake_fast-*manylinux*.whl | head -1)[beam]"
	cd $(DIST) && venv/bin/python $(abspath .ci/wheel_smoke.py)

clean:
	rm -rf $(VENV) $(BQEMU_VENV) target $(LAKE) $(DIST)
