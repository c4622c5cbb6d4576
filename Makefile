# The two commands of the README: `make runbook` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= parameters/local.yaml

.PHONY: help venv runbook sweep test test-fast lab bench strip params clean

help:
	@echo "make runbook  run every notebook on the local cloud, report in reports/latest/"
	@echo "make sweep    the chaos step over 16 configurations x 3 runs, compared in reports/sweeps/latest/index.html"
	@echo "make test     run the whole test suite (four workers)"
	@echo "make test-fast  the fast subset, under a minute (no notebooks, browser or conformance suite)"
	@echo "make lab      start the local cloud and JupyterLab on notebooks/"
	@echo "make bench    run the benchmarks, write bench/results.json"
	@echo "make params   rewrite the notebooks' parameters cells, parameters/local.yaml and the README table"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (multi-region runbook)" >/dev/null
	touch $(STAMP)

runbook: $(STAMP)
	$(BIN)/runbook run -f $(PARAMS)

# The default grid (helpers/sweep_grid.py) on the local cloud; SWEEP_ARGS adds options, e.g. --target-rto 30.
sweep: $(STAMP)
	$(BIN)/runbook sweep -f $(PARAMS) $(SWEEP_ARGS)

# Tests run on four workers (most of a test's time is spent waiting on scaled AWS durations, so two cores
# serve four); each test file stays on one worker (its module-scoped stacks are built once).
PYTEST := $(BIN)/python -m pytest -n 4 --dist loadfile

test: $(STAMP)
	$(PYTEST)

test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

# The local cloud runs at the time scale of parameters/local.yaml, the notebooks' default;
# one that `make lab` started stops when JupyterLab exits, one that was already running is left alone.
lab: $(STAMP)
	$(BIN)/python -m helpers.lab --time-scale \
	  $$($(BIN)/python -c "import yaml; print(yaml.safe_load(open('parameters/local.yaml'))['time_scale'])") \
	  -- $(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: $(STAMP)
	$(BIN)/python -m bench

strip: $(STAMP)
	$(BIN)/python -m helpers.notebook_hygiene --strip notebooks/*.ipynb

# Every parameter is declared once, in helpers/parameters.py; this writes what is derived from it.
params: $(STAMP)
	$(BIN)/python -m helpers.parameters --write

clean:
	-$(BIN)/localcloud stop
	rm -rf reports .localcloud .pytest_cache
