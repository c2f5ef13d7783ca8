# The two commands of the README: `make test` and `make prove`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# GPU users: make test TORCH_SPEC="torch==2.13.0" TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu126"
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_ARGS ?=
LEAN_DIR ?= .

.PHONY: test install lint prove lean bench clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 test'"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check prover retrieval search tests bench
	$(VENV)/bin/ruff format --check prover retrieval search tests bench

# Lean toolchain, Mathlib cache and the REPL build (needs network + elan).
lean:
	@bash scripts/setup_lean.sh

# The main job: prove the shipped samples, then miniF2F, with the default configuration.
prove: install lean
	$(VENV)/bin/prover prove benchmark=samples
	$(VENV)/bin/prover prove benchmark=minif2f benchmark.split=test

bench: install
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
