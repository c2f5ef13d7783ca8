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

# --- the judge: comparator + lean4export + landrun (prover.lean.comparator; README "Trust model") ---------
# comparator (github.com/leanprover/comparator) follows Lean's releases: a tag per version from v4.27, and the
# branch `pre-v25` for "v4.24.0 and older". Its own lake manifest pins the lean4export it builds, which must
# match the project's Lean. landrun (github.com/Zouuup/landrun, a Go program) is built from `main`, as
# comparator's README asks. Skip with COMPARATOR=0: verify.judge=auto then uses the repl judge.
if [ "${COMPARATOR:-1}" != "0" ]; then
  TOOLS="$ROOT/.lake/tools"
  VERSION="${TOOLCHAIN##*:}"
  case "$VERSION" in
    v4.1[0-9].*|v4.2[0-4].*|v4.[0-9].*) COMPARATOR_REF="pre-v25" ;;
    *) COMPARATOR_REF="$VERSION" ;;
  esac
  COMPARATOR_REF="${COMPARATOR_REF_OVERRIDE:-$COMPARATOR_REF}"
  skip="(or run 'COMPARATOR=0 make lean': the repl judge needs none of it)"
  command -v git >/dev/null 2>&1 || fail "building comparator needs git $skip"
  mkdir -p "$TOOLS/bin"
  if [ ! -d "$TOOLS/comparator/.git" ]; then
    echo "setup_lean: fetching comparator @ $COMPARATOR_REF" >&2
    git clone --quiet --depth 1 --branch "$COMPARATOR_REF" https://github.com/leanprover/comparator \
      "$TOOLS/comparator" >&2 || fail "cannot fetch comparator @ $COMPARATOR_REF from github.com $skip"
  fi
  echo "setup_lean: building comparator and lean4export" >&2
  (cd "$TOOLS/comparator" && lake build lean4export comparator >&2) \
    || fail "building comparator and lean4export failed $skip"
  if [ ! -x "$TOOLS/bin/landrun" ]; then
    command -v go >/dev/null 2>&1 || fail "building landrun needs Go (https://go.dev/dl) $skip"
    [ -d "$TOOLS/landrun/.git" ] || git clone --quiet --depth 1 https://github.com/Zouuup/landrun \
      "$TOOLS/landrun" >&2 || fail "cannot fetch landrun from github.com $skip"
    (cd "$TOOLS/landrun" && go build -o "$TOOLS/bin/landrun" ./cmd/landrun >&2) \
      || fail "building landrun failed $skip"
  fi
  "$TOOLS/bin/landrun" --version >/dev/null 2>&1 \
    || echo "setup_lean: warning: landrun does not run here (Landlock needs Linux >= 5.13); comparator will reject every proof, use verify.judge=repl" >&2
  echo "setup_lean: comparator ready: $TOOLS/comparator/.lake/build/bin/comparator (verify.judge=auto uses it)" >&2
fi
echo "setup_lean: ready. REPL binary: $BIN (run it with: lake env $BIN)"
