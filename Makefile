# Two commands do all the setup on a fresh machine: `make demo` and `make test`.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export PYTHONPATH := $(CURDIR)/include$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: venv demo test test-unit lint format airflow bench stop-db clean

venv: $(VENV)/.installed

# uv when available (pip-installed into the venv first if need be), else pip; shows progress
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	bash scripts/install-venv.sh $(PYTHON) $(VENV)
	touch $@

demo: venv
	$(BIN)/infra-review demo run

test: venv
	$(BIN)/pytest

test-unit: venv
	$(BIN)/pytest tests/unit

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

airflow: venv
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/airflow-local.sh

bench: venv
	$(BIN)/python bench/run_all.py

# Stops the embedded PostgreSQL (.pgdata); leaves a server named by DATABASE_URL alone.
stop-db:
	@if [ -x $(BIN)/infra-review ]; then $(BIN)/infra-review db stop; else echo "no virtualenv: nothing started"; fi

# Stops the embedded PostgreSQL first, then removes generated files (its data in .pgdata stays).
clean: stop-db
	rm -rf .demo .airflow
