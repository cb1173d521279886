# Every target builds with --release (one profile), so a fresh clone compiles
# wasmtime once for tests, demo and benchmarks alike.
CARGO ?= cargo
PROFILE := --release
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: all build test demo latency fmt lint

all: build

build:
	$(CARGO) build $(PROFILE) --workspace --all-targets

## Every test: unit, integration (real server on 127.0.0.1:0), CLI and spec
## scripts; ends with one line adding up every test binary's result.
test:
	@mkdir -p target
	$(CARGO) test $(PROFILE) --workspace 2>&1 | tee target/test.log
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "all tests: %d passed, %d failed\n", p, f }' target/test.log

## The main job on an embedded server: the RPyC seminar walkthrough.
demo:
	$(CARGO) run $(PROFILE) --example seminar
	$(CARGO) run $(PROFILE) --bin sandcall -- --embedded run client/examples/seminar.sandcall

## Round-trip time of a trivial eval (10k calls, one client) and pipelined throughput.
latency:
	$(CARGO) run $(PROFILE) --example latency

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(PROFILE) --workspace --all-targets -- -D warnings
