# The multi-arch myth lab. `make lab` to learn, `make test` to prove it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup up down status lab test unit bench-up help

help:
	@echo "make lab       set everything up, start the sandbox, open JupyterLab on 127.0.0.1"
	@echo "make test      unit tests, engine tests against the real sandbox"
	@echo "make up|down|status   start, stop or show the sandbox"
	@echo "make bench-up  benchmark cold and warm 'labkit up' and memory"

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
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(ROOT_FLAG) notebooks/

unit: setup
	$(BIN)/pytest -q tests/unit

test: up
	$(BIN)/pytest -q tests

bench-up: setup
	$(BIN)/python bench/up.py
