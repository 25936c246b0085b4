# The two commands: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint check bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ctcollab demo

# Lint is part of the tests: ruff and mypy must stay clean.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

check: lint test

ANJANA := var/venv-anjana/bin/python

# anjana (bench/kanon.py's comparison) pins numpy/pandas/pycanon versions that conflict with
# ours, so it lives in a virtualenv of its own and runs in a subprocess.
$(ANJANA):
	$(PYTHON) -m venv var/venv-anjana
	$(ANJANA) -m pip install --quiet anjana==1.2.3

# Long (tens of minutes on 2 cores): each script prints its figures; RESULTS.md records them.
bench: $(STAMP) $(ANJANA)
	for b in ingest harmonize kanon dp_tables synth api; do $(PY) bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) var demo-data .pytest_cache .mypy_cache .ruff_cache
