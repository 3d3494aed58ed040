# The multi-arch myth lab. `make lab` to learn, `make test` to prove it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

NBVAL  := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-current-env --nbval-cell-timeout=300

.PHONY: setup up down status lab test unit lint run outputs bench-up bench-steps soak help

help:
	@echo "make lab       set everything up, start the sandbox, open JupyterLab on 127.0.0.1"
	@echo "make test      unit tests, engine tests against the real sandbox, nbval over every notebook"
	@echo "make run       execute every notebook in order against the sandbox, write build/handout.html"
	@echo "make lint      ruff over code and notebooks, mypy strict over labkit, tests and bench"
	@echo "make outputs   regenerate the notebooks' stored outputs from a sandbox run"
	@echo "make up|down|status   start, stop or show the sandbox"
	@echo "make bench-up  benchmark cold and warm 'labkit up' and memory"
	@echo "make bench-steps  steps 2-4 through labkit vs raw docker, and 'make run' warm"
	@echo "make soak ROUNDS=N  N rounds of up, whole lab, down, with random faults injected"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

setup: $(STAMP)

up: setup
	$(BIN)/labkit up

down: setup
	$(BIN)/labkit down

status: setup
	$(BIN)/labkit status

lab: up
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(ROOT_FLAG) notebooks/00_start_here.ipynb

unit: setup
	$(BIN)/pytest -q -p no:cacheprovider -m "not engine" tests

# ruff over everything, the notebooks included; mypy strict over labkit, tests and bench (pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# The user's ~/.docker and /etc/docker are snapshotted before anything of the lab runs (setup and `labkit up`
# included); the pytest session fails when they differ from it at the end.
UNTOUCHED := build/untouched-before.json
test:
	$(PYTHON) -m tests.untouched $(UNTOUCHED)
	$(MAKE) --no-print-directory setup lint
	$(BIN)/labkit up
	LABKIT_TEST_UNTOUCHED=$(UNTOUCHED) $(BIN)/pytest -q -p no:cacheprovider tests notebooks $(NBVAL)

run: up
	$(BIN)/python -m labkit.nbtools run

outputs: up
	$(BIN)/python -m labkit.nbtools outputs

bench-up: setup
	$(BIN)/python -m bench.up

bench-steps: up
	$(BIN)/python -m bench.steps

ROUNDS ?= 20
soak: setup
	ROUNDS=$(ROUNDS) $(BIN)/python -m bench.soak
