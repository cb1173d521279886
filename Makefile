# Every target builds with --release (one profile), so a fresh clone compiles
# wasmtime once for tests, demo and benchmarks alike.
CARGO ?= cargo
PROFILE := --release
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: all build test demo latency bench load rpyc-venv fmt lint wasm-target guest python haproxy cluster-demo fuzz

all: build

build:
	$(CARGO) build $(PROFILE) --workspace --all-targets

## Every test: unit, integration (real server on 127.0.0.1:0), CLI and spec
## scripts, `sandcall-bench --quick` (bench/tests/quick.rs) and the Python
## client's pytest suite (`make python` first); ends with
## one line adding up every test binary's result. The examples are not built
## here (each links wasmtime anew: CI time); `make demo` runs them and `make
## lint` checks them.
test: wasm-target haproxy
	@mkdir -p target
	$(CARGO) test $(PROFILE) --workspace --lib --bins --tests 2>&1 | tee target/test.log
	$(CARGO) test $(PROFILE) --workspace --doc 2>&1 | tee -a target/test.log
	@$(MAKE) --no-print-directory python
	$(PYTHON_VENV)/bin/python -m pytest -q python/tests 2>&1 | tee -a target/test.log
	@awk '/^test result:/ { p += $$4; f += $$6; next } \
		/ in [0-9.]+s/ && /(passed|failed)/ { \
			if (match($$0, /[0-9]+ passed/)) p += substr($$0, RSTART, RLENGTH) + 0; \
			if (match($$0, /[0-9]+ failed/)) f += substr($$0, RSTART, RLENGTH) + 0 } \
		END { printf "all tests: %d passed, %d failed\n", p, f }' target/test.log

## The main job on an embedded server: the RPyC seminar walkthrough (as a
## program, then as a CLI script), then the sort guest on lists of 1,000 to
## 1,000,000 ints with every result checked, and a table of the times; last,
## the hostile-guest corpus and the sorts in sandboxed and unrestricted mode.
demo: guest
	$(CARGO) run $(PROFILE) -p sandcall --example seminar
	$(CARGO) run $(PROFILE) -p sandcall-cli --bin sandcall -- --embedded run client/examples/seminar.sandcall
	$(CARGO) run $(PROFILE) -p sandcall --example sorts
	$(CARGO) run $(PROFILE) -p sandcall-cli --bin sandcall -- --embedded compare

## Sandcall beside a raw TCP echo, native code and RPyC classic, in one run:
## prints one table, writes bench/results.md, bench/results.json and the plot
## bench/sorts.svg. `--quick` (run by `make test`) is the smoke-test variant.
## Section 8 (the Python client) needs `make python`; without it the bench
## skips that section and says why.
bench: wasm-target rpyc-venv
	@$(MAKE) --no-print-directory python \
		|| echo "Python client: could not set up $(PYTHON_VENV) (make python); make bench will skip section 8"
	$(CARGO) build $(PROFILE) -p sandcall-server --bin sandcall-server
	$(CARGO) run $(PROFILE) -p sandcall-bench -- --rpyc-python $(RPYC_VENV)/bin/python

## 1, 50 and 1,000 concurrent connections on one server (then 1,000 while
## 10,000 idle ones are held open), each sorting random lists with the sort
## guest, every answer checked: bench/load.md, bench/load.json.
## `sandcall-load --quick` (run by `make test`) is the small variant.
load: guest
	$(CARGO) build $(PROFILE) -p sandcall-server --bin sandcall-server
	$(CARGO) run $(PROFILE) -p sandcall-bench --bin sandcall-load

## Fuzzing for longer (issue 15): the fuzz targets that `make test` runs
## from a fixed seed (about 30 s in all), here with FUZZ_SCALE (20) times
## as many cases and a fresh seed per target (printed; SANDCALL_FUZZ_RNG=SEED
## replays one). Frames and requests (protocol/tests/fuzz), WAVE, WIT values
## and uploads of mutated modules and components (client fuzz::), script
## lines, words and arguments (cli fuzz::); seeds in fuzz/seeds/. On stable
## Rust with proptest: no cargo-fuzz targets (they would need nightly and a
## sanitizer build of the workspace, wasmtime included); the first line says
## what this machine has. Ends with one line per target: cases and time.
FUZZ_SCALE ?= 20
fuzz: guest
	@mkdir -p target
	@nightly=$$(rustup toolchain list 2>/dev/null | grep -c '^nightly' || true); \
		cargo_fuzz=$$(command -v cargo-fuzz >/dev/null && echo installed || echo "not installed"); \
		echo "fuzz: proptest on stable Rust, $(FUZZ_SCALE)x the cases of make test (nightly toolchains: $$nightly; cargo-fuzz: $$cargo_fuzz; neither is used)"
	SANDCALL_FUZZ_SCALE=$(FUZZ_SCALE) SANDCALL_FUZZ_RANDOM=1 $(CARGO) test $(PROFILE) -p sandcall-protocol --test fuzz -- --nocapture 2>&1 | tee target/fuzz.log
	SANDCALL_FUZZ_SCALE=$(FUZZ_SCALE) SANDCALL_FUZZ_RANDOM=1 $(CARGO) test $(PROFILE) -p sandcall --test integration -- fuzz:: --nocapture 2>&1 | tee -a target/fuzz.log
	SANDCALL_FUZZ_SCALE=$(FUZZ_SCALE) SANDCALL_FUZZ_RANDOM=1 $(CARGO) test $(PROFILE) -p sandcall-cli --test integration -- fuzz:: --nocapture 2>&1 | tee -a target/fuzz.log
	@grep '^fuzz ' target/fuzz.log

## A virtualenv with RPyC 6.0.2 for `make bench` (once; it skips RPyC with a
## message if this could not be set up).
RPYC_VENV := target/rpyc-venv
rpyc-venv:
	@test -x $(RPYC_VENV)/bin/rpyc_classic \
		|| { python3 -m venv $(RPYC_VENV) && $(RPYC_VENV)/bin/pip install --quiet rpyc==6.0.2; } \
		|| echo "RPyC: could not set up $(RPYC_VENV); make bench will skip RPyC"

## Round-trip time of a trivial eval (10k calls, one client) and pipelined throughput.
latency:
	$(CARGO) run $(PROFILE) -p sandcall --example latency

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(PROFILE) --workspace --all-targets -- -D warnings

## The Rust standard library for wasm32-unknown-unknown, which the test guests
## build against, and for wasm32-wasip1, which `sandcall build` guests use (its
## test builds one); silent when they are already installed.
wasm-target:
	@rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null || rustup target add wasm32-unknown-unknown
	@rustup target list --installed | grep -x wasm32-wasip1 >/dev/null || rustup target add wasm32-wasip1

## The test guests, built from source into components (guests/build.rs).
guest: wasm-target
	$(CARGO) build $(PROFILE) -p sandcall-guests
	@stat -c '%n: %s bytes' target/guest/guest-sort.wasm target/guest/guest-values.wasm

## The Python client (python/, PyO3 + maturin): a virtualenv in
## target/python-venv with maturin and pytest from PyPI (once; numpy too if it
## installs, for the optional numpy tests), then the extension built in release
## mode as an abi3 wheel and installed there, so that
## `target/python-venv/bin/python -c 'import sandcall'` works.
PYTHON_VENV := target/python-venv
python:
	@test -x $(PYTHON_VENV)/bin/maturin -a -x $(PYTHON_VENV)/bin/pytest \
		|| { python3 -m venv $(PYTHON_VENV) \
		&& $(PYTHON_VENV)/bin/pip install --quiet --disable-pip-version-check 'maturin>=1.16,<2' pytest \
		&& { $(PYTHON_VENV)/bin/pip install --quiet --disable-pip-version-check numpy || echo "numpy: not installed; its tests will be skipped"; }; }
	@rm -rf target/python-wheels
	$(PYTHON_VENV)/bin/maturin build --quiet --release --strip -m python/Cargo.toml -o target/python-wheels
	@$(PYTHON_VENV)/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/python-wheels/sandcall-*.whl
	@cd target && python-venv/bin/python -c 'import sandcall; print("sandcall", sandcall.__version__, "installed in $(PYTHON_VENV)")'

## HAProxy from Debian's package, for the cluster tests and `make cluster-demo`
## (issue 14); installed with apt-get only when missing (the machines run as
## root; quick when present).
haproxy:
	@command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
	@command -v haproxy >/dev/null && haproxy -v | sed -n 1p

## 3 servers on loopback and HAProxy in front of them (deploy/haproxy.cfg):
## sorts 16,000,000 ints in chunks spread over the cluster, kills one server
## mid-run, and checks the result against a local sort.
cluster-demo: guest haproxy
	$(CARGO) build $(PROFILE) -p sandcall-server --bin sandcall-server
	$(CARGO) run $(PROFILE) -p sandcall --example cluster_demo
