# badgeserver: `make demo` runs the main job, `make test` runs every test. Both build .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint pytest demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check badgeserver tests benchmarks
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint pytest

demo: $(STAMP)
	$(BIN)/badgeserver demo $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_issue_verify.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
