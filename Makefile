# Two commands for everyone: `make demo` (the main job) and `make test` (the suite).
# Both build .venv first: torch==2.13.0 (the CPU wheel on our machines) before anything else,
# because an unpinned torch pulled in by a dependency would download GBs of CUDA wheels.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.perceiver-rl-installed

.PHONY: demo test test-slow test-all lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q torch==2.13.0
	$(PY) -m pip install --disable-pip-version-check -q -e ".[dev]"
	touch $(STAMP)

# The suite without the long learning runs, on both cores (a test file stays on one worker: its module-scoped
# fixtures, a Ray session among them, are built once). `make test-slow`: the learning runs (CI runs both).
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

test-all: test lint test-slow

# ruff (lint + format check) on the whole tree, mypy on the typed packages (pyproject.toml says which).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

demo: $(STAMP)
	$(PY) examples/movetobeacon_demo.py

bench: $(STAMP)
	$(PY) bench/perceiver_io.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache
