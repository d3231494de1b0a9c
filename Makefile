# taperwise: the two commands are `make run` and `make test`; both create .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## main job: build the demo study, then serve the web app on it
run: setup
	$(BIN)/taperwise demo --db sqlite:///demo.db

## whole suite, slow tests included; PostgreSQL and Chromium are installed/started by the test setup
test: setup
	bash scripts/install-test-services.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

test-fast: setup
	$(BIN)/python -m pytest -n 2 -m "not slow" tests

bench: setup
	$(BIN)/python benchmarks/run_all.py

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
