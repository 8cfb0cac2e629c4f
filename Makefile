# Estafette: `make run` to use it, `make test` to check everything.
# Tools are installed on first use by scripts/setup.sh, then reused.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./data
# Honour CARGO_TARGET_DIR, as cargo does; e2e gets the same path.
CARGO_TARGET_DIR ?= target
RELAY := $(CARGO_TARGET_DIR)/relay/estafette-relay
WASM_TEST_ENV := CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_TEST_TIMEOUT=300

.PHONY: run build app relay load test lint test-native test-wasm test-e2e setup-build setup-test clean

## Build everything, then serve the app and the relay on http://$(LISTEN)/
run: build
	$(RELAY) serve --listen $(LISTEN) --data-dir $(DATA_DIR) --site-dir dist

## Build the web app (release, into dist/) and the relay
build: setup-build app relay

app:
	trunk build --release

relay:
	cargo build --profile relay -p estafette-relay

## The relay and its load generator, side by side (docs/load.md)
load:
	cargo build --profile relay -p estafette-relay -p estafette-load

## Every check CI runs: format, lints, native tests, browser tests, user journeys
test: setup-test lint test-native test-wasm build test-e2e
	@echo "make test: all checks passed"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p estafette-crypto -p estafette-client -p estafette-app -p estafette-worker --target wasm32-unknown-unknown --all-targets -- -D warnings

test-native:
	cargo test --workspace

test-wasm:
	$(WASM_TEST_ENV) cargo test -p estafette-crypto -p estafette-client --target wasm32-unknown-unknown

test-e2e:
	cd e2e && ESTAFETTE_RELAY_BIN=$(abspath $(RELAY)) npx playwright test

setup-build:
	scripts/setup.sh build

setup-test:
	scripts/setup.sh test

clean:
	rm -rf dist target/relay e2e/test-results
