#!/usr/bin/env bash
# Set up the Lean side of the prover: elan (if missing), the pinned toolchain, Mathlib's cache, the REPL.
# Without network or elan it stops with ONE message saying what is missing and how to get it (exit 1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLCHAIN="$(tr -d '[:space:]' < lean-toolchain)"

fail() { echo "setup_lean: $*" >&2; exit 1; }

export PATH="$HOME/.elan/bin:$PATH"
if ! command -v elan >/dev/null 2>&1; then
  if ! command -v curl >/dev/null 2>&1; then
    fail "elan (the Lean installer) is not installed and curl is not available to fetch it; install elan from https://github.com/leanprover/elan (or install curl) and re-run 'make lean'"
  fi
  echo "setup_lean: installing elan (no default toolchain; $TOOLCHAIN comes from lean-toolchain)" >&2
  if ! curl -sSfL https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -o /tmp/elan-init.sh 2>/dev/null; then
    fail "cannot download elan from raw.githubusercontent.com (no network?); install elan by hand from https://github.com/leanprover/elan and re-run 'make lean'"
  fi
  bash /tmp/elan-init.sh -y --default-toolchain none >/dev/null || fail "the elan installer failed; see https://github.com/leanprover/elan"
fi
command -v lake >/dev/null 2>&1 || fail "elan is installed but 'lake' is not on PATH; add \$HOME/.elan/bin to PATH"

echo "setup_lean: toolchain $TOOLCHAIN; fetching Mathlib and the REPL (lake update)" >&2
lake update >&2 || fail "'lake update' failed (network access to github.com is needed the first time)"
echo "setup_lean: downloading Mathlib's compiled cache (lake exe cache get)" >&2
lake exe cache get >&2 || fail "'lake exe cache get' failed; without the cache Mathlib must be compiled (hours): run 'lake build'"
echo "setup_lean: building the REPL" >&2
# `repl` (the REPL package's executable); a bare `REPL` would name its library and build no binary
lake build repl >&2 || (cd .lake/packages/REPL && lake build repl >&2) || fail "building the REPL failed"
BIN="$ROOT/.lake/packages/REPL/.lake/build/bin/repl"
[ -x "$BIN" ] || fail "the REPL binary is missing after the build (expected $BIN)"
lake build >&2 || fail "building the project (import Mathlib) failed"
echo "setup_lean: ready. REPL binary: $BIN (run it with: lake env $BIN)"
