# The two commands of the README. Everything installs into ./.venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## make run: set up, generate the sample if data/raw is empty, run the nightly job once.
run: $(STAMP)
	$(BIN)/tkpk synth --if-empty
	$(BIN)/tkpk run

## make test: set up, then run the whole test suite.
test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
