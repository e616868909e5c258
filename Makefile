# custseg: the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 100000
ENV ?= local
ARGS ?=

.PHONY: help venv java-check run test test-fast bench bench-resolve bench-stream lint typecheck clean-data clean chromium notebook airflow-venv splink-venv

help:
	@echo "make run        install into $(VENV), generate sample data, run the whole pipeline locally"
	@echo "make test       install into $(VENV) and run the test suite"
	@echo "make test-fast  the tests without the heavy proofs (pipeline, cluster, linters): the inner loop"
	@echo "make bench SCALE=N  time each stage at N customers; results in bench/results/"
	@echo "                    STAGES='features segment' re-times those stages on that scale's data"
	@echo "make bench-resolve RECORDS='10000 100000'  time identity resolution at these record counts"
	@echo "                    (and Splink on DuckDB on the same records, once make splink-venv made its $(SPLINK_VENV))"
	@echo "make bench-stream RATES='500 2000' SECONDS=60  the live feed through \`stream\`: events/s, latency"
	@echo "make lint typecheck  ruff and mypy"
	@echo "make notebook   Jupyter on 127.0.0.1 with the project's kernel, on the tables of make run"
	@echo "make airflow-venv  Airflow in its own $(AIRFLOW_VENV), to load dags/ (tests/test_governance.py)"
	@echo "make splink-venv   Splink in its own $(SPLINK_VENV), the anchor make bench-resolve races custseg against"

$(STAMP): setup.py requirements/constraints.txt lib/custseg/VERSION
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
	  { echo "custseg needs Python 3.11 (found $$($(PYTHON) --version 2>&1)); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[dev,notebook,mlflow]'
	@touch $(STAMP)

# A class-data archive of Spark's classes, written by one small run_all: later local runs start
# their JVM seconds sooner. Optional: without Java or on failure, runs start as before.
JVM_ARCHIVE := $(VENV)/.jvm-archive
$(JVM_ARCHIVE): $(STAMP)
	@$(BIN)/custseg jvm-archive || \
	  echo "(make venv goes on: local runs start without a class-data archive; $(BIN)/custseg jvm-archive tries again)"
	@touch $(JVM_ARCHIVE)

venv: $(STAMP) $(JVM_ARCHIVE)

java-check:
	@command -v java >/dev/null 2>&1 || [ -x "$${JAVA_HOME:-/nonexistent}/bin/java" ] || \
	  { echo "Java was not found: install a Java 17 runtime (for example: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."; exit 1; }

run: venv java-check
	$(BIN)/custseg run_all --env $(ENV) $(ARGS)

# Headless Chromium renders the HTML reports in the tests; Debian's package, installed once.
chromium:
	@[ -x /usr/bin/chromium ] || { apt-get update && apt-get install -y chromium; }

# One process, one SparkSession: on 2 cores a second worker's session slows the first more than
# it adds (every py4j round trip waits for a core).
# ARGS="-n 2 --dist loadfile --no-loadscope-reorder" still splits modules between two workers.
# The tests need the installs, not the class-data archive: its two minutes of writing would cost
# CI more than its faster starts save, and the test of the archive writes one of its own. The
# installs do not depend on each other: on a fresh machine they run side by side.
test: java-check
	@$(MAKE) --no-print-directory -j4 $(STAMP) chromium airflow-venv splink-venv
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP) java-check chromium
	$(BIN)/python -m pytest -m "not heavy" $(ARGS)

bench: venv java-check
	$(BIN)/custseg bench --scale $(SCALE) --env $(ENV) $(if $(STAGES),--stages $(STAGES)) $(ARGS)

RECORDS ?= 10000 100000 1000000
bench-resolve: venv java-check
	CUSTSEG_SPLINK_PYTHON=$(abspath $(SPLINK_VENV))/bin/python \
	  $(BIN)/custseg bench-resolve --records $(RECORDS) --env $(ENV) $(ARGS)

RATES ?= 500 2000
SECONDS ?= 60
bench-stream: venv java-check
	$(BIN)/custseg bench-stream --rates $(RATES) --seconds $(SECONDS) --env $(ENV) $(ARGS)

# Jupyter on 127.0.0.1 with the project's kernel (this .venv), reading the storage root `make run`
# writes (storage.root of conf/; ROOT=... for another one). NOTEBOOK_PORT picks the port.
NOTEBOOK_PORT ?= 8888
ROOT ?= $(CURDIR)/data
notebook: venv java-check
	$(BIN)/python -m ipykernel install --sys-prefix --name custseg --display-name "custseg ($(VENV))" \
	  --env CUSTSEG_STORAGE_ROOT "$(abspath $(ROOT))" --env CUSTSEG_CONF_DIR "$(CURDIR)/conf" \
	  --env CUSTSEG_ENV "$(ENV)" >/dev/null
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(NOTEBOOK_PORT) --no-browser --notebook-dir=notebooks \
	  --MultiKernelManager.default_kernel_name=custseg $(if $(filter 0,$(shell id -u)),--allow-root)

lint: venv
	$(BIN)/ruff check lib tests jobs dags bench notebooks setup.py

typecheck: venv
	$(BIN)/mypy lib/custseg

# Airflow has its own virtualenv: its dependencies never touch the suite's.
AIRFLOW_VENV ?= .venv-airflow
$(AIRFLOW_VENV)/.installed: requirements/airflow.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet -r requirements/airflow.txt
	@touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed

# Splink too: bench-resolve runs bench/splink_resolve.py in it, on the records custseg's run reads.
SPLINK_VENV ?= .venv-splink
$(SPLINK_VENV)/.installed: requirements/splink.txt
	$(PYTHON) -m venv $(SPLINK_VENV)
	$(SPLINK_VENV)/bin/pip install --quiet -r requirements/splink.txt
	@touch $@

splink-venv: $(SPLINK_VENV)/.installed

clean-data:
	rm -rf data

clean: clean-data
	rm -rf $(VENV) build dist *.egg-info lib/*.egg-info
