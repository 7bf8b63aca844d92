# ioc-monitor developer and CI entry points. `make test` is what CI (.ci/run) runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := venv

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SRC := ioc_monitor streams services tests
STAMP := $(VENV)/.installed

.PHONY: venv constraints stack-up stack-down stack-status lint typecheck test test-unit test-faults demo bench

## venv: create .venv (if missing) and install the project pinned by constraints.txt
venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

## constraints: re-pin constraints.txt from the current venv
constraints:
	$(BIN)/pip freeze --exclude-editable > constraints.txt

## stack-up / stack-down / stack-status: the local Kafka, Redis, Prometheus, Alertmanager
stack-up: venv
	$(BIN)/ioc stack up

stack-down: venv
	$(BIN)/ioc stack down

stack-status: venv
	$(BIN)/ioc stack status

## lint: ruff lint and format check
lint: venv
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

## typecheck: mypy --strict (packages from pyproject.toml)
typecheck: venv
	$(BIN)/mypy

## test: lint, typecheck, start the stack, run every test
test: venv lint typecheck stack-up
	$(BIN)/pytest -q tests

## test-unit: the fast inner loop: unit tests only, no stack (`make test` runs everything)
test-unit: venv
	$(BIN)/pytest -q tests/unit

## test-faults: only the slow fault-injection and security tests (`make test` runs them too)
test-faults: venv stack-up
	$(BIN)/pytest -q -m slow tests

## demo: the live monitor: stack, worker, exporter, simulated feed, live board (Ctrl-C stops)
demo: venv
	$(BIN)/ioc demo

## bench: the benchmark (services/bench/); IOC_BENCH_QUICK=1 for a smoke size
bench: venv
	$(BIN)/python -m services.bench
