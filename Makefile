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
	$(VENV)/bin/prover data fetch minif2f
	$(VENV)/bin/prover prove benchmark=minif2f benchmark.split=test

# Every benchmark of bench/README.md, with the commands written there (SHARED: the reference data folder).
SHARED ?= ../shared
bench: install
	$(PY) -m bench.bench_lean overhead --commands 2000
	$(PY) -m bench.bench_lean pool --server world --processes 1 2 4 8 --delay-ms 100 --steps 64
	$(PY) -m bench.bench_search solve --theorems 40 --tactics 16 --expansions 25 --noise 0 1 2 3
	$(PY) -m bench.bench_search overhead
	$(PY) -m bench.bench_retrieval --size 200000 --centres 1500 --queries 250
	$(PY) -m bench.bench_generation throughput
	test ! -f $(SHARED)/data/tactics/fps-search-proof-steps.jsonl || \
	  $(PY) -m bench.bench_generation accuracy $(SHARED)/data/tactics/fps-search-proof-steps.jsonl
	$(PY) -m bench.bench_evaluation

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
