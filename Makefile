# refute's one task runner. `make test` is the README's test command and what CI runs.
#
#   make test        everything CI checks: toolchain, artifacts, forge tests, fmt, clippy, Rust tests
#   make run         the main job (today: replay the whole Cancun corpus; `refute demo` later)
#   make artifacts   recompile contracts/src and rewrite contracts/artifacts/ (commit the result)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CONTRACTS_BIN := $(CURDIR)/contracts/node_modules/.bin
export PATH := $(CONTRACTS_BIN):$(PATH)

.PHONY: test run toolchain artifacts check-artifacts forge-test fmt fmt-check clippy rust-test doc

test: toolchain check-artifacts forge-test fmt-check clippy rust-test

run:
	cargo run --release --bin refute -- statetest
	cargo run --release --bin refute -- blockchaintest

toolchain:
	@scripts/contracts-toolchain.sh >/dev/null

artifacts:
	scripts/contracts-artifacts.sh

check-artifacts:
	scripts/contracts-artifacts.sh --check

forge-test: toolchain
	cd contracts && forge test

fmt:
	cargo fmt --all
	cd contracts && forge fmt

fmt-check: toolchain
	cargo fmt --all -- --check
	cd contracts && forge fmt --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

rust-test:
	@if cargo nextest --version >/dev/null 2>&1; then \
	  cargo nextest run --workspace --locked --profile ci; \
	else \
	  cargo test --workspace --locked; \
	fi

doc:
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
