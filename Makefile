# The two commands of the README. Each one sets up the virtual environment first (idempotent).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

# Main job: every dataset configured in luigi.cfg (the built-in synthetic set when none is).
# Extra options: make run ARGS="--epochs 3". Exits non-zero when any task fails.
ARGS ?=
run: setup
	$(BIN)/luigi --module tasks FullBenchmark --local-scheduler $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Tests in TEST_WORKERS processes (pytest-xdist; 2 = the CI machine's cores): make test TEST_WORKERS=1
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)
