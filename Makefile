# Every target builds with --release (one profile), so a fresh clone compiles
# wasmtime once for tests, demo and benchmarks alike.
CARGO ?= cargo
PROFILE := --release
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: all build test demo latency bench rpyc-venv fmt lint wasm-target guest python

all: build

build:
	$(CARGO) build $(PROFILE) --workspace --all-targets

## Every test: unit, integration (real server on 127.0.0.1:0), CLI and spec
## scripts, `sandcall-bench --quick` (bench/tests/quick.rs) and the Python
## client's pytest suite (`make python` first); ends with
## one line adding up every test binary's result. The examples are not built
## here (each links wasmtime anew: CI time); `make demo` runs them and `make
## lint` checks them.
test: wasm-target
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
bench: wasm-target rpyc-venv
	$(CARGO) build $(PROFILE) -p sandcall-server --bin sandcall-server
	$(CARGO) run $(PROFILE) -p sandcall-bench -- --rpyc-python $(RPYC_VENV)/bin/python

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
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

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
