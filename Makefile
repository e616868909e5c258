# custseg: the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 100000
ENV ?= local
ARGS ?=

.PHONY: help venv java-check run test test-all bench bench-resolve lint typecheck clean-data clean airflow-venv

help:
	@echo "make run        install into $(VENV), generate sample data, run the whole pipeline locally"
	@echo "make test       install into $(VENV) and run the test suite"
	@echo "make test-all   tests including the slow (heavy) ones"
	@echo "make bench SCALE=N  time each stage at N customers; results in bench/results/"
	@echo "                    STAGES='features segment' re-times those stages on that scale's data"
	@echo "make bench-resolve RECORDS='10000 100000'  time identity resolution at these record counts"
	@echo "make lint typecheck  ruff and mypy"
	@echo "make airflow-venv  Airflow in its own $(AIRFLOW_VENV), to load dags/ (tests/test_governance.py)"

$(STAMP): setup.py requirements/constraints.txt lib/custseg/VERSION
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
	  { echo "custseg needs Python 3.11 (found $$($(PYTHON) --version 2>&1)); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

java-check:
	@command -v java >/dev/null 2>&1 || [ -x "$${JAVA_HOME:-/nonexistent}/bin/java" ] || \
	  { echo "Java was not found: install a Java 17 runtime (for example: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."; exit 1; }

run: venv java-check
	$(BIN)/custseg run_all --env $(ENV) $(ARGS)

test: venv java-check
	$(BIN)/python -m pytest $(ARGS)

test-all: venv java-check
	$(BIN)/python -m pytest --run-slow $(ARGS)

bench: venv java-check
	$(BIN)/custseg bench --scale $(SCALE) --env $(ENV) $(if $(STAGES),--stages $(STAGES)) $(ARGS)

RECORDS ?= 10000 100000 1000000
bench-resolve: venv java-check
	$(BIN)/custseg bench-resolve --records $(RECORDS) --env $(ENV) $(ARGS)

lint: venv
	$(BIN)/ruff check lib tests jobs dags

typecheck: venv
	$(BIN)/mypy lib/custseg

# Airflow has its own virtualenv: its dependencies never touch the suite's.
AIRFLOW_VENV ?= .venv-airflow
$(AIRFLOW_VENV)/.installed: requirements/airflow.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet -r requirements/airflow.txt
	@touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed

clean-data:
	rm -rf data

clean: clean-data
	rm -rf $(VENV) build dist *.egg-info lib/*.egg-info
