# Qianlink: the two commands are `make demo` (run it) and `make test` (test it).
SHELL := /bin/bash
ENV_FILE := .local/services.env
CARGO ?= cargo

.PHONY: demo chat tour-check test lint fuzz chaos chaos-ci load-ci fresh-clone-check services services-stop \
	services-status build fmt toolchain

# Timeouts of `make chaos-ci` and `make load-ci` (CI), in seconds: the release build, each scenario, the load check.
CHAOS_CI_BUILD_TIMEOUT ?= 1500
CHAOS_CI_TIMEOUT ?= 420
LOAD_CI_TIMEOUT ?= 900

## Start PostgreSQL and Redis (installed when missing), build, migrate, generate the demo
## province once, run the chain, print the tour, and serve on 127.0.0.1:8080.
demo: toolchain services
	$(CARGO) build -p qianlink
	@. $(ENV_FILE) && scripts/demo.sh

## Play a worker in the terminal: make chat PHONE=<number printed by the tour>.
chat: toolchain services
	$(CARGO) build -p qianlink
	@. $(ENV_FILE) && scripts/demo.sh chat "$(PHONE)"

## Run every command of the printed tour against the running demo (fails on any non-2xx).
tour-check:
	@scripts/tour-check.sh

## Start the services and run every test of the workspace against them.
test: toolchain services
	@. $(ENV_FILE) && if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

## Formatting and clippy, warnings denied.
lint: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## schemathesis against /openapi.json of a debug build, with an admin and an employer's key
## (pinned in scripts/fuzz-requirements.txt, installed into .local/fuzz-venv); non-zero on any failure.
fuzz: toolchain services
	@CARGO=$(CARGO) timeout --kill-after=15 600 scripts/fuzz.sh

## The fault scenarios of docs/reliability.md at full size (3 to 6 minutes, plus a release build):
## crash safety, Redis down, exactly once under concurrency. Each builds what it needs and runs its own PostgreSQL
## and Redis on other ports; `make services` is not needed and not touched.
chaos: toolchain
	scripts/chaos/crash.sh
	scripts/chaos/redis-down.sh
	scripts/chaos/exactly-once.sh

## The same three, bounded, as CI runs them: the release build once (about 7 minutes cold on 2 cores),
## then 2 crash rounds, 8 s with Redis down, 500 placements and 20 scan rounds; each under a timeout
## and failing the run when its invariant breaks.
chaos-ci: toolchain
	timeout --kill-after=30 $(CHAOS_CI_BUILD_TIMEOUT) \
	  $(CARGO) build --release --quiet -p qianlink -p qianlink-tests --bin qianlink --bin chaos
	CHAOS_SKIP_BUILD=1 CHAOS_ROUNDS=2 timeout --kill-after=30 $(CHAOS_CI_TIMEOUT) scripts/chaos/crash.sh
	CHAOS_SKIP_BUILD=1 CHAOS_DOWN_SECONDS=8 timeout --kill-after=30 $(CHAOS_CI_TIMEOUT) scripts/chaos/redis-down.sh
	CHAOS_SKIP_BUILD=1 CHAOS_PLACEMENTS=500 CHAOS_ROUNDS=20 timeout --kill-after=30 $(CHAOS_CI_TIMEOUT) \
	  scripts/chaos/exactly-once.sh

## The load knee check of bench/load.sh, small, as CI runs it (on `make services`, release build):
## fails on any non-2xx answer or socket error, or p99 over 100 ms at 4 connections.
load-ci: toolchain services
	JOBS=3000 WORKERS=2000 DURATION=8s STEPS="4 16" CARGO=$(CARGO) timeout --kill-after=30 $(LOAD_CI_TIMEOUT) bench/load.sh

## Clone the committed HEAD into a private (mode 700) temporary folder and check that `make services`,
## a migration, one API call and `make services-stop` work there, on other ports (scripts/fresh-clone-check.sh).
fresh-clone-check: toolchain
	@CARGO=$(CARGO) timeout --kill-after=15 600 scripts/fresh-clone-check.sh

## The Rust toolchain is needed by every target that builds; say how to get it when it is missing.
toolchain:
	@command -v $(CARGO) >/dev/null 2>&1 || { echo "make: $(CARGO) not found: install the Rust toolchain with rustup (curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y, then . ~/.cargo/env)" >&2; exit 1; }

## Private PostgreSQL (127.0.0.1:55432, QIANLINK_PG_PORT) and Redis (127.0.0.1:56379, QIANLINK_REDIS_PORT).
## Redis's data in .local/redis; PostgreSQL's cluster as root in /var/lib/qianlink/<hash of the clone's path>/pg
## (owned by postgres, who may not be able to enter the clone), otherwise in .local/pg. URLs in .local/services.env.
services:
	@scripts/services.sh start

## Stop exactly what `make services` started (recorded in .local/services.state).
services-stop:
	@scripts/services.sh stop

services-status:
	@scripts/services.sh status

build: toolchain
	$(CARGO) build --workspace

fmt: toolchain
	$(CARGO) fmt --all
