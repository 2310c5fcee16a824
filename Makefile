# Qianlink: the two commands are `make demo` (run it) and `make test` (test it).
SHELL := /bin/bash
ENV_FILE := .local/services.env
CARGO ?= cargo

.PHONY: demo chat tour-check test lint fuzz chaos services services-stop build fmt

## Start PostgreSQL and Redis (installed when missing), build, migrate, generate the demo
## province once, run the chain, print the tour, and serve on 127.0.0.1:8080.
demo: services
	$(CARGO) build -p qianlink
	@. $(ENV_FILE) && scripts/demo.sh

## Play a worker in the terminal: make chat PHONE=<number printed by the tour>.
chat: services
	$(CARGO) build -p qianlink
	@. $(ENV_FILE) && scripts/demo.sh chat "$(PHONE)"

## Run every command of the printed tour against the running demo (fails on any non-2xx).
tour-check:
	@scripts/tour-check.sh

## Start the services and run every test of the workspace against them.
test: services
	@. $(ENV_FILE) && if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

## Formatting and clippy, warnings denied.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## schemathesis against /openapi.json of a debug build, with an admin and an employer's key
## (pinned in scripts/fuzz-requirements.txt, installed into .local/fuzz-venv); non-zero on any failure.
fuzz: services
	@CARGO=$(CARGO) timeout --kill-after=15 600 scripts/fuzz.sh

## The fault scenarios of docs/reliability.md (not in CI; 3 to 6 minutes, plus a release build):
## crash safety, Redis down, exactly once under concurrency. Each builds what it needs and runs its own PostgreSQL
## and Redis on other ports; `make services` is not needed and not touched.
chaos:
	scripts/chaos/crash.sh
	scripts/chaos/redis-down.sh
	scripts/chaos/exactly-once.sh

## Private PostgreSQL (127.0.0.1:55432) and Redis (127.0.0.1:56379) under .local/.
services:
	@scripts/services.sh start

services-stop:
	@scripts/services.sh stop

build:
	$(CARGO) build --workspace

fmt:
	$(CARGO) fmt --all
