# The two commands a fresh machine needs: `make demo` (the main job) and `make test`.
# Both create their virtualenvs from the locks in requirements/ and build the extension in release mode first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Beam holds pyarrow and protobuf back (< 26, < 7): its transforms are tested in a virtualenv of their own.
BEAM_VENV ?= .venv-beam
BQEMU_VENV := .venv-bqemu
# The documentation site's tools (MkDocs, Material, mkdocstrings), from requirements/docs.txt
DOCS_VENV ?= .venv-docs
# uv (installs the locks) and maturin (builds the extension), from requirements/tools.txt
TOOLS := .venv-tools
UV := $(abspath $(TOOLS))/bin/uv
MATURIN := $(abspath $(TOOLS))/bin/maturin
REQ := requirements
export UV_PYTHON_DOWNLOADS := never
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

.PHONY: venv build build-demo build-beam wheel wheel-abi3 wheel-smoke extras-smoke emulators postgres test test-slow test-rust \
	test-python test-beam bench bench-worker bench-sqs bench-beam bench-http bench-shapes bench-transform bench-route bench-iceberg bench-smoke \
	fuzz lint fmt demo clean lock lock-upgrade drift test-latest versions docs

$(TOOLS)/.installed: $(REQ)/tools.txt
	rm -rf $(TOOLS) && $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $<
	touch $@

# $(call sync,VENV,LOCK): the virtualenv holds exactly the lock's packages (and, after a build, the project).
define sync
	test -x $(1)/bin/python || $(UV) venv -q --python $(PYTHON) $(1)
	$(UV) pip sync -q --python $(1)/bin/python --require-hashes $(2)
	touch $@
endef

# $(call develop,VENV): the extension built (release) and the package installed in place (its dependencies are
# the lock's already).
define develop
	PATH="$(abspath $(TOOLS))/bin:$$PATH" VIRTUAL_ENV=$(abspath $(1)) $(MATURIN) develop --release --uv -q
endef

$(VENV)/.synced: $(REQ)/dev.txt $(TOOLS)/.installed
	$(call sync,$(VENV),$<)

$(BEAM_VENV)/.synced: $(REQ)/beam.txt $(TOOLS)/.installed
	$(call sync,$(BEAM_VENV),$<)

venv: $(VENV)/.synced

build: $(VENV)/.synced
	$(call develop,$(VENV))

# The demo needs the gcp and iceberg extras: added to .venv from demo.txt (the same versions as dev.txt, so a later
# `make test` only adds packages, and a `make demo` after `make test` installs nothing).
build-demo: $(TOOLS)/.installed
	test -x $(BIN)/python || $(UV) venv -q --python $(PYTHON) $(VENV)
	$(UV) pip install -q --python $(BIN)/python --require-hashes -r $(REQ)/demo.txt
	$(call develop,$(VENV))

# Beam's virtualenv uses the extension `build` made in place (python/streamlake_fast/_native*.so, the same
# CPython): a path entry, as an editable install is, instead of a second maturin build (whose different
# interpreter path makes cargo rebuild the crate each time the two alternate).
build-beam: $(BEAM_VENV)/.synced build
	$(BEAM_VENV)/bin/python -c "import site, sys; open(site.getsitepackages()[0] + '/streamlake_fast.pth', 'w')\
		.write(sys.argv[1] + '\n')" "$(abspath python)"

# bqemulator (BigQuery emulator) in a virtualenv of its own: it pins duckdb, which the benchmarks also use.
# Google's Pub/Sub emulator ships with the machine (google-cloud-sdk, Java).
$(BQEMU_VENV)/.synced: $(REQ)/bqemulator.txt $(TOOLS)/.installed
	$(call sync,$(BQEMU_VENV),$<)

$(DOCS_VENV)/.synced: $(REQ)/docs.txt $(TOOLS)/.installed
	$(call sync,$(DOCS_VENV),$<)

# The locks (requirements/README.md): `make lock` after editing pyproject.toml or an .in file keeps every pin it can;
# `make lock-upgrade` takes the newest versions the ranges allow.
COMPILE = $(UV) pip compile -q --universal --generate-hashes --custom-compile-command "make lock" $(LOCK_FLAGS)
lock: $(TOOLS)/.installed
	$(COMPILE) $(REQ)/tools.in -o $(REQ)/tools.txt
	$(COMPILE) pyproject.toml --extra gcp --extra aws --extra http --extra iceberg --extra test --extra bench --extra lint \
		-o $(REQ)/dev.txt
	$(COMPILE) pyproject.toml --extra gcp --extra iceberg -c $(REQ)/dev.txt -o $(REQ)/demo.txt
	$(COMPILE) pyproject.toml --extra beam --extra test -o $(REQ)/beam.txt
	$(COMPILE) $(REQ)/bqemulator.in -o $(REQ)/bqemulator.txt
	$(COMPILE) $(REQ)/docs.in -o $(REQ)/docs.txt

lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

# What today's newest allowed versions would change against the locks (installs nothing; CI prints it).
drift: $(TOOLS)/.installed
	PYTHON=$(PYTHON) UV=$(UV) bash $(REQ)/drift.sh

# The tests on the newest versions pyproject.toml allows, in .venv-latest / .venv-latest-beam (not the locks).
test-latest: $(TOOLS)/.installed
	PYTHON=$(PYTHON) UV=$(UV) bash $(REQ)/drift.sh --install
	$(call develop,.venv-latest)
	.venv-latest/bin/python -m pytest tests -q -m "not slow" --ignore=tests/runtimes/beam
	.venv-latest-beam/bin/python -c "import site, sys; open(site.getsitepackages()[0] + '/streamlake_fast.pth', 'w')\
		.write(sys.argv[1] + '\n')" "$(abspath python)"
	STREAMLAKE_REQUIRE_BEAM=1 .venv-latest-beam/bin/python -m pytest tests/runtimes/beam -q -m "not slow"

# Each virtualenv's packages, checked against its lock.
versions: $(VENV)/.synced $(BEAM_VENV)/.synced $(BQEMU_VENV)/.synced
	UV=$(UV) bash $(REQ)/versions.sh $(VENV)=$(REQ)/dev.txt $(BEAM_VENV)=$(REQ)/beam.txt \
		$(BQEMU_VENV)=$(REQ)/bqemulator.txt

emulators: $(BQEMU_VENV)/.synced postgres

# PostgreSQL (Debian's package) for the Iceberg catalog shared by concurrent writers; the tests start their own server.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
		echo "postgres: Debian's postgresql is not installed (apt-get install postgresql); its tests will fail under CI"

# The whole pipeline on this machine: the Pub/Sub emulator and bqemulator (started through the package's launcher
# with its offline workarounds), publish → worker → ./lake + the table, then a summary.
demo: build-demo emulators
	STREAMLAKE_BQEMULATOR_PYTHON="$(abspath $(BQEMU_VENV))/bin/python" \
		$(BIN)/streamlake demo --cloud $(CLOUD) $(if $(EVENTS),--events $(EVENTS)) $(if $(MIXED),--mixed) $(if $(LAKE_FORMAT),--lake-format $(LAKE_FORMAT)) $(if $(ENVELOPE),--envelope $(ENVELOPE)) --lake $(LAKE)

test: build build-beam emulators versions test-rust test-python test-beam bench-smoke docs

# The documentation site (mkdocs.yml, docs/) into site/, warnings as errors; the API reference is read from the
# docstrings in python/ (griffe reads the source: no build needed) and the theme fetches no fonts (offline).
docs: $(DOCS_VENV)/.synced
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --site-dir site

test-rust:
	cargo test -q

# Every test but the full-volume end-to-end runs (marked slow, minutes each): make test-slow runs those; CI both.
# Beam's tests run in Beam's own environment (test-beam).
test-python:
	$(BIN)/python -m pytest tests -q -m "not slow" --ignore=tests/runtimes/beam

test-beam:
	STREAMLAKE_REQUIRE_BEAM=1 $(BEAM_VENV)/bin/python -m pytest tests/runtimes/beam tests/test_boundaries.py -q -m "not slow"
	STREAMLAKE_REQUIRE_BEAM=1 STREAMLAKE_BEAM_BENCH_EVENTS=2000 $(BEAM_VENV)/bin/python -m pytest \
		benches/test_beam_bench.py -q --benchmark-disable

test-slow: build build-beam emulators
	$(BIN)/python -m pytest tests -q -m slow --ignore=tests/runtimes/beam
	STREAMLAKE_REQUIRE_BEAM=1 $(BEAM_VENV)/bin/python -m pytest tests/runtimes/beam -q -m slow

# Benchmarks as a quick correctness smoke: each benchmark body runs once on a small data set (Beam's: test-beam).
bench-smoke:
	STREAMLAKE_BENCH_EVENTS=20000 STREAMLAKE_WORKER_BENCH_EVENTS=3000 STREAMLAKE_SQS_BENCH_EVENTS=1000 \
		STREAMLAKE_HTTP_BENCH_SINGLE=400 STREAMLAKE_HTTP_BENCH_BATCHED=2000 \
		STREAMLAKE_HTTP_BENCH_PUSHED=40 STREAMLAKE_TRANSFORM_BENCH_EVENTS=3000 STREAMLAKE_SHAPES_BENCH_EVENTS=2000 \
		STREAMLAKE_ROUTE_BENCH_EVENTS=4000 \
		$(BIN)/python -m pytest benches -q --ignore=benches/test_beam_bench.py \
		--benchmark-disable
	COMMITS=60 $(BIN)/python benches/iceberg_commits.py

# The full benchmarks behind the README's tables (several minutes each).
# Routing: a mixed stream against four single-type ones; a template fanning out to 1,000 lake prefixes.
bench-route: build
	$(BIN)/python -m pytest benches/test_route_bench.py -q

# Iceberg commits as a table ages: an hour-equivalent of 1 s commits with the default maintenance between them.
bench-iceberg: build
	$(BIN)/python benches/iceberg_commits.py

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
bench-beam: build-beam emulators
	STREAMLAKE_REQUIRE_BEAM=1 STREAMLAKE_BEAM_BENCH_EVENTS=$(BEAM_BENCH_EVENTS) $(BEAM_VENV)/bin/python -m pytest \
		benches/test_beam_bench.py -q

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
	$(BIN)/ruff check python tests benches .ci
	$(BIN)/ruff format --check python tests benches .ci
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest streamlake_fast._native
	cargo fmt --check
	cargo fmt --check --manifest-path fuzz/Cargo.toml
	cargo clippy -q --all-targets --features python,mimalloc -- -D warnings

fmt:
	$(BIN)/ruff format python tests benches .ci
	$(BIN)/ruff check --fix python tests benches .ci
	cargo fmt
	cargo fmt --manifest-path fuzz/Cargo.toml

# Installable artifacts: an sdist and a wheel for glibc >= 2.17 (manylinux2014: AWS Lambda's Amazon Linux 2 and 2023,
# RHEL 7+, Debian 9+, Ubuntu 18.04+), linked by zig against that glibc whatever this machine's is.
wheel: $(TOOLS)/.installed
	PATH="$(abspath $(TOOLS))/bin:$$PATH" $(MATURIN) build --release --zig --compatibility manylinux2014 -o $(DIST)
	$(MATURIN) sdist -o $(DIST)

# The wheel installed with plain pip into a fresh virtualenv (dependencies from PyPI), smoke-tested outside the tree.
# One wheel for every CPython ≥ 3.10 (the limited API; measured 3-8% slower on the hot path, see the README).
wheel-abi3: $(TOOLS)/.installed
	PATH="$(abspath $(TOOLS))/bin:$$PATH" $(MATURIN) build --release --zig --compatibility manylinux2014 \
		--features abi3 -o $(DIST)

# Each extra alone (and the bare wheel), installed from the built wheel into a fresh virtualenv with the locks'
# versions (the wheel's own metadata decides what is installed, so a missing dependency shows), then used outside
# the tree: .ci/extras_smoke.py says what each one runs.
wheel-smoke: wheel build emulators
	UV=$(UV) PYTHON=$(PYTHON) $(BIN)/python .ci/extras_smoke.py $(DIST)

clean:
	rm -rf $(VENV) $(BEAM_VENV) $(BQEMU_VENV) $(DOCS_VENV) $(TOOLS) .venv-latest .venv-latest-beam target $(LAKE) $(DIST) site
