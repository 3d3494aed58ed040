# The multi-arch myth lab. `make lab` to learn, `make test` to prove it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

NBVAL  := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-current-env --nbval-cell-timeout=300

# The Python packages are locked (constraints.txt, written by `make lock` with uv) and installed by one script,
# scripts/setup.sh: uv, else pip. `make setup` installs what the notebooks need; the tests, lint and the outputs'
# tools add the `test` and `dev` extras; `labkit class up` adds `class` (JupyterHub and its plugins) itself.
LOCK       := constraints.txt
UV_VERSION := 0.13.9
SETUP      := PYTHON=$(PYTHON) VENV=$(VENV) LOCK=$(LOCK) UV_VERSION=$(UV_VERSION) sh scripts/setup.sh
TEST_STAMP := $(VENV)/.installed-test

# JupyterLab runs with the lab's own settings (etc/jupyter: no news or update checks, encrypted kernel channels);
# what the server writes (workspaces, settings changed in the UI) goes under build/jupyter, never to ~/.jupyter.
LAB_ENV := JUPYTER_CONFIG_PATH=$(CURDIR)/etc/jupyter JUPYTER_CONFIG_DIR=$(CURDIR)/build/jupyter
# `make lab` starts JupyterLab as soon as the packages are installed and provisions the sandbox meanwhile, with
# `labkit up` in the background: its log, and its state (running, ok, or failed and the exit code) for notebook 00.
UP_LOG    := build/labkit-up.log
UP_STATUS := build/labkit-up.status

.PHONY: setup setup-test seal lock chromium up down status lab test unit lint run outputs bench-up bench-steps bench-first bench-platforms soak help

help:
	@echo "make lab       set everything up, start the sandbox, open JupyterLab on 127.0.0.1"
	@echo "make test      unit tests, engine tests against the real sandbox, nbval over every notebook, a real browser"
	@echo "make setup     install the locked Python packages the notebooks need into .venv (uv, else pip)"
	@echo "make setup-test  add the packages the tests, lint and the outputs' tools need (the test and dev extras)"
	@echo "make unit      only the tests that need no engine"
	@echo "make chromium  install Debian's chromium for the browser test, when it is missing"
	@echo "make run       execute every notebook in order against the sandbox, write build/handout.html"
	@echo "make outputs   regenerate the notebooks' stored outputs from a sandbox run (NOTEBOOKS=\"05 07\": only those)"
	@echo "make up|down|status   start, stop or show the sandbox"
	@echo "make lint      ruff over code and notebooks, mypy strict over labkit, tests and bench"
	@echo "make seal      seal the answer key (instructor/keys.toml) into labkit/practice/sealed.json after changing it"
	@echo "make lock      re-resolve the locked package versions (constraints.txt) after changing pyproject.toml"
	@echo "make bench-up  benchmark cold and warm 'labkit up' and memory"
	@echo "make bench-steps  steps 2-4 through labkit vs raw docker, and 'make run' warm"
	@echo "make bench-first  a fresh clone to notebook 00 in JupyterLab (cold), then the whole lab (warm)"
	@echo "make bench-platforms  build and push for 2, 4 and 8 platforms from an empty builder cache, and where the time goes"
	@echo "make bench-notebooks  each notebook's time in a warm run of the whole lab"
	@echo "make bench-class LEARNERS=N  a class of N learners starting the whole lab at once (as root)"
	@echo "make soak ROUNDS=N  N rounds of up, whole lab, down, with random faults injected"

$(STAMP): pyproject.toml $(LOCK) scripts/setup.sh
	@$(SETUP)
	@touch $@

$(TEST_STAMP): $(STAMP)
	@$(SETUP) test,dev
	@touch $@

setup: $(STAMP)

setup-test: $(TEST_STAMP)

lock:
	@uv=$$(command -v uv || echo $(BIN)/uv); [ -x "$$uv" ] || { echo "make lock needs uv: run make setup first"; exit 1; }; \
	UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1 "$$uv" pip compile --quiet pyproject.toml --all-extras --universal --python-version 3.11 \
	  --custom-compile-command "make lock" -o $(LOCK)

# Debian's chromium, for the browser test (Playwright drives it; it cannot download a browser of its own here).
chromium:
	@command -v chromium >/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "The browser test needs Debian's chromium: sudo apt-get install chromium"; exit 1; }; \
	  echo "installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

up: setup
	$(BIN)/labkit up

down: setup
	$(BIN)/labkit down

status: setup
	$(BIN)/labkit status

lab: setup
	@mkdir -p build/jupyter; echo running > $(UP_STATUS); \
	echo "make lab: provisioning the sandbox in the background (labkit up, log: $(UP_LOG)); notebook 00 waits for it"; \
	( started=$$(date +%s); \
	  if $(BIN)/labkit up > $(UP_LOG) 2>&1; then \
	    echo ok > $(UP_STATUS); echo "make lab: the sandbox is up ($$(( $$(date +%s) - started )) s)" >&2; \
	  else \
	    code=$$?; echo "failed $$code" > $(UP_STATUS); \
	    { echo "make lab: labkit up FAILED (exit $$code); notebook 00 shows why and tries again. The end of $(UP_LOG):"; \
	      tail -n 12 $(UP_LOG) | sed 's/^/  | /'; } >&2; \
	  fi ) &
	$(LAB_ENV) LABKIT_UP_LOG=$(CURDIR)/$(UP_LOG) LABKIT_UP_STATUS=$(CURDIR)/$(UP_STATUS) \
	  $(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(ROOT_FLAG) notebooks/00_start_here.ipynb

unit: setup-test
	$(BIN)/pytest -q -p no:cacheprovider -m "not engine" tests

# ruff over everything, the notebooks included; mypy strict over labkit, tests and bench (pyproject.toml).
lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy

# The user's ~/.docker and /etc/docker are snapshotted before anything of the lab runs (setup and `labkit up`
# included); the pytest session fails when they differ from it at the end.
UNTOUCHED := build/untouched-before.json
test:
	$(PYTHON) -m tests.support.untouched $(UNTOUCHED)
	$(MAKE) --no-print-directory setup-test chromium lint
	$(BIN)/labkit up
	LABKIT_TEST_UNTOUCHED=$(UNTOUCHED) $(BIN)/pytest -q -p no:cacheprovider tests notebooks $(NBVAL)

run: setup-test up
	$(BIN)/python -m labkit.nbtools run

# The answer key (instructor/keys.toml) sealed into the learners' package (labkit/practice/sealed.json).
seal: setup
	$(BIN)/python -m labkit.practice.keys

# NOTEBOOKS="05 07" re-executes only those (each notebook runs on its own); all of them by default.
outputs: setup-test up
	$(BIN)/python -m labkit.nbtools outputs --only $(NOTEBOOKS)

bench-up: setup-test
	$(BIN)/python -m bench.up

bench-steps: setup-test up
	$(BIN)/python -m bench.steps

# ROUNDS=N interleaved rounds (default 5); each build starts from an empty builder cache.
bench-platforms: setup-test up
	$(BIN)/python -m bench.platforms

# A class on this host (as root): N learners start the whole lab at the same moment, through the hub and their rootless
# sandboxes; the last line gives learners=, lab_p50_s=, lab_p95_s=, rss_per_learner_mib=, isolation_violations=.
LEARNERS ?= 30
.PHONY: bench-class
bench-class: setup-test
	LEARNERS=$(LEARNERS) $(BIN)/python -m bench.class_

# Needs nothing of this checkout but git: it clones the repository and installs into the clone.
bench-first:
	$(PYTHON) -m bench.first

ROUNDS ?= 20
soak: setup-test
	ROUNDS=$(ROUNDS) $(BIN)/python -m bench.soak

# Per-notebook timings of a full run (NB_ROUNDS=N rounds, 3 by default), as a Markdown table (docs/instructors.md).
NB_ROUNDS ?= 3
.PHONY: bench-notebooks
bench-notebooks: setup-test up
	ROUNDS=$(NB_ROUNDS) $(BIN)/python -m bench.notebooks
