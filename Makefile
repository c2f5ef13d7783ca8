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
# Exact versions of every dependency that `make test` installs (what CI tested); pyproject.toml keeps loose
# bounds for library users. `make lock` regenerates it on purpose; a changed lock file re-installs the venv.
LOCK ?= requirements/constraints.txt

.PHONY: test install lint prove lean bench clean lock test-editor

$(VENV)/.installed: pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 test'"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_INDEX) -c $(LOCK) "$(TORCH_SPEC)"
	$(PIP) install -q -c $(LOCK) -e ".[dev,train]"
	touch $@

install: $(VENV)/.installed

# Upgrade the pinned versions deliberately: resolve pyproject.toml's bounds afresh in a temporary venv (no
# constraints), then write every installed version to $(LOCK). Review the diff, run `make test`, commit.
lock:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found"; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install -q --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"; \
	"$$tmp/venv/bin/python" -m pip install -q -e ".[dev,train]"; \
	{ echo "# Exact versions that \`make test\` installs with (pip -c): what CI tested. Regenerate deliberately with"; \
	  echo "# \`make lock\` (fresh temporary venv, newest versions allowed by pyproject.toml); never edit by hand."; \
	  echo "# torch is pinned without its local build tag so the CPU and CUDA wheels both satisfy it."; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -v '^#' | grep -iv '^lean-prover' \
	    | sed -E 's/^torch==([^+]+)\+.*/torch==\1/' | LC_ALL=C sort -f; } > "$$tmp/lock.txt"; \
	mv "$$tmp/lock.txt" $(LOCK); echo "wrote $(LOCK); review 'git diff $(LOCK)', then make test"

# pytest's exit 5 means it collected no test (a bad PYTEST_ARGS, a broken tests folder): a failure, said clearly.
test: install
	@bash scripts/ensure_bwrap.sh
	@$(PY) -m pytest -q $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] || \
	  echo "make test: pytest collected no tests (exit 5); check PYTEST_ARGS='$(PYTEST_ARGS)'" >&2; exit $$rc; }

# The VS Code companion: unit tests (node --test) and the end-to-end test in a real VS Code (code-server +
# Debian's Chromium via Playwright). Installs what it needs first (scripts/setup_editor.sh: Debian packages only
# where missing, root needed for those; code-server and vsce into ~/.cache/lean-prover-editor).
test-editor: install
	bash scripts/test_editor.sh

# ruff, then mypy (scripts/typecheck.py: zero errors in prover/lean, search, retrieval, prover/generation and the
# front door; a ratchet on the rest). CI runs it before the tests.
lint: install
	$(VENV)/bin/ruff check prover retrieval search tests bench scripts
	$(VENV)/bin/ruff format --check prover retrieval search tests bench scripts
	$(PY) scripts/typecheck.py

# Lean toolchain, Mathlib cache, the REPL and the judge (comparator, lean4export, landrun; needs network, elan,
# git and Go; COMPARATOR=0 skips the judge's tools).
# `make lean LEAN_VERSION=v4.15.0`: that release in a project of its own under the user cache (prover.lean.toolchain)
lean:
	@LEAN_VERSION="$(LEAN_VERSION)" bash scripts/setup_lean.sh

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
	$(PY) -m bench.bench_lean pool --processes 1 2 4 8 --delay-ms 1 --steps 1024
	$(PY) -m bench.bench_lean pool --processes 1 2 4 8 --delay-ms 1 --steps 128 --rounds 8
	$(PY) -m bench.bench_lean sandbox --starts 20 --commands 2000
	$(PY) -m bench.bench_lean spares --import-s 30 --repeats 3
	test ! -d $(SHARED)/data || $(PY) -m bench.bench_lean headers --data $(SHARED)/data
	$(PY) -m bench.bench_lean memory --commands 10000 --grow-kb 256 --max-rss-mb 400 --plot bench/figures/lean_memory.png
	$(PY) -m bench.bench_search solve --theorems 40 --tactics 16 --expansions 25 --noise 0 1 2 3
	$(PY) -m bench.bench_search overhead
	$(PY) -m bench.bench_retrieval --size 200000 --centres 1500 --queries 250
	$(PY) -m bench.bench_generation throughput
	test ! -f $(SHARED)/data/tactics/fps-search-proof-steps.jsonl || \
	  $(PY) -m bench.bench_generation accuracy $(SHARED)/data/tactics/fps-search-proof-steps.jsonl
	$(PY) -m bench.bench_openai client --requests 2000
	$(PY) -m bench.bench_openai e2e --problems 16 --samples 64
	$(PY) -m bench.bench_evaluation
	$(PY) -m bench.bench_fps --repeat 50
	$(PY) -m bench.bench_serve --requests 200 --concurrency 4
	$(PY) -m bench.bench_synth --num 200 --mix
	$(PY) -m bench.bench_synth --alchemy --rules 100 --delay-ms 20 --pool 1
	$(PY) bench/bench_train.py throughput --steps 20 --batch-size 16
	test ! -f $(SHARED)/data/tactics/fps-search-proof-steps.jsonl || \
	  $(PY) bench/bench_train.py $(SHARED)/data/tactics/fps-search-proof-steps.jsonl --steps 80

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
