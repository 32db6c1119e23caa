# Two commands for everyone: `make demo` (the main job) and `make test` (the suite).
# Both build .venv first: torch==2.13.0 (the CPU wheel on our machines) before anything else,
# because an unpinned torch pulled in by a dependency would download GBs of CUDA wheels.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.perceiver-rl-installed

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q torch==2.13.0
	$(PY) -m pip install --disable-pip-version-check -q -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) examples/movetobeacon_demo.py

bench: $(STAMP)
	$(PY) bench/perceiver_io.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache
