# Every target builds with --release (one profile), so a fresh clone compiles
# wasmtime once for tests, demo and benchmarks alike.
CARGO ?= cargo
PROFILE := --release

.PHONY: all build test demo latency fmt lint

all: build

build:
	$(CARGO) build $(PROFILE) --workspace --all-targets

## Every test: unit, integration (real server on 127.0.0.1:0), CLI and spec scripts.
test:
	$(CARGO) test $(PROFILE) --workspace

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
