#!/usr/bin/env bash
# Set up the Lean side of the prover: elan (if missing), the pinned toolchain, Mathlib's cache, the REPL.
# Without network or elan it stops with ONE message saying what is missing and how to get it (exit 1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLCHAIN="$(tr -d '[:space:]' < lean-toolchain)"

fail() { echo "setup_lean: $*" >&2; exit 1; }

# --- the toolchain: the project's pin, or LEAN_VERSION=v4.X.Y in a project of its own (prover.lean.toolchain) ----
# `make lean LEAN_VERSION=v4.15.0` builds, under the user cache ($PROVER_LEAN_HOME, else
# $XDG_CACHE_HOME/lean-prover/lean/<version>), a Lean project pinned to that release with Mathlib and the REPL at
# the same tag (both tag every Lean release they support); backend.toolchain=auto then runs the benchmarks
# written for it there. Everything below (Mathlib's cache, the REPL, comparator) is built in that project.
if [ -n "${LEAN_VERSION:-}" ]; then
  VERSION="v${LEAN_VERSION#v}"
  [[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?$ ]] || fail "LEAN_VERSION must be a Lean release such as v4.15.0, not '$LEAN_VERSION'"
  if [ "$VERSION" != "${TOOLCHAIN##*:}" ]; then
    CACHE="${PROVER_LEAN_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/lean-prover/lean}"
    ROOT="$CACHE/$VERSION"
    mkdir -p "$ROOT/lean_project" || fail "cannot create $ROOT"
    TOOLCHAIN="leanprover/lean4:$VERSION"
    echo "$TOOLCHAIN" > "$ROOT/lean-toolchain"
    cat > "$ROOT/lakefile.lean" <<LAKEFILE
import Lake
open Lake DSL

-- written by scripts/setup_lean.sh for LEAN_VERSION=$VERSION (Mathlib and the REPL at the same tag)
package «lean_prover» where
  leanOptions := #[⟨\`autoImplicit, false⟩]

require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "$VERSION"

require REPL from git
  "https://github.com/leanprover-community/repl" @ "$VERSION"

@[default_target]
lean_lib LeanProver where
  srcDir := "lean_project"
LAKEFILE
    echo "import Mathlib" > "$ROOT/lean_project/LeanProver.lean"
    cd "$ROOT"
    echo "setup_lean: building Lean $VERSION in $ROOT (backend.toolchain=auto uses it for benchmarks written for it)" >&2
  fi
fi

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
# comparator (github.com/leanprover/comparator) follows Lean's releases: tags from v4.25.0-rc2 / v4.27.0, and the
# branch `pre-v25` for "v4.24.0 and older". Its own lake manifest pins the lean4export it builds, which must
# match the project's Lean. landrun (github.com/Zouuup/landrun, a Go program) is built from `main`, as
# comparator's README asks. COMPARATOR=0 skips it; unset, a failure is a warning (verify.judge=auto then uses the
# repl judge, which needs none of it); COMPARATOR=1 makes a failure fatal.
comparator_problem() {
  if [ "${COMPARATOR:-auto}" = "1" ]; then
    fail "$* (COMPARATOR=1 asked for comparator; 'COMPARATOR=0 make lean' skips it)"
  fi
  echo "setup_lean: warning: comparator not installed: $*; verify.judge=auto will use the repl judge (COMPARATOR=1 makes this fatal, COMPARATOR=0 skips it)" >&2
  return 1
}
setup_comparator() {
  local TOOLS="$ROOT/.lake/tools" VERSION="${TOOLCHAIN##*:}" COMPARATOR_REF exe
  case "$VERSION" in
    v4.1[0-9].*|v4.2[0-4].*|v4.[0-9].*) COMPARATOR_REF="pre-v25" ;;
    *) COMPARATOR_REF="$VERSION" ;;
  esac
  COMPARATOR_REF="${COMPARATOR_REF_OVERRIDE:-$COMPARATOR_REF}"
  command -v git >/dev/null 2>&1 || { comparator_problem "building comparator needs git"; return 1; }
  mkdir -p "$TOOLS/bin"
  if [ ! -d "$TOOLS/comparator/.git" ]; then
    echo "setup_lean: fetching comparator @ $COMPARATOR_REF" >&2
    git clone --quiet --depth 1 --branch "$COMPARATOR_REF" https://github.com/leanprover/comparator \
      "$TOOLS/comparator" >&2 || {
      comparator_problem "cannot fetch comparator @ $COMPARATOR_REF from github.com (pick a tag or branch with COMPARATOR_REF_OVERRIDE=...)"
      return 1
    }
  fi
  echo "setup_lean: building comparator and lean4export" >&2
  (cd "$TOOLS/comparator" && lake build lean4export comparator >&2) \
    || { comparator_problem "building comparator and lean4export failed"; return 1; }
  for exe in "$TOOLS/comparator/.lake/build/bin/comparator" \
             "$TOOLS/comparator/.lake/packages/lean4export/.lake/build/bin/lean4export"; do
    [ -x "$exe" ] || { comparator_problem "missing after the build: $exe (verify.comparator.* expects it there)"; return 1; }
  done
  if [ ! -x "$TOOLS/bin/landrun" ]; then
    command -v go >/dev/null 2>&1 || { comparator_problem "building landrun needs Go (https://go.dev/dl)"; return 1; }
    [ -d "$TOOLS/landrun/.git" ] || git clone --quiet --depth 1 https://github.com/Zouuup/landrun \
      "$TOOLS/landrun" >&2 || { comparator_problem "cannot fetch landrun from github.com"; return 1; }
    (cd "$TOOLS/landrun" && go build -o "$TOOLS/bin/landrun" ./cmd/landrun >&2) \
      || { comparator_problem "building landrun failed"; return 1; }
  fi
  # comparator calls landrun with --best-effort, which silently runs the build UNCONFINED where Landlock is
  # missing; probe it here without --best-effort so the user learns it (our bubblewrap sandbox still applies)
  "$TOOLS/bin/landrun" --rox / -- true >/dev/null 2>&1 \
    || echo "setup_lean: warning: landrun cannot apply Landlock here (Linux >= 5.13 with Landlock enabled); comparator's --best-effort then builds model text without landrun's confinement (only backend.sandbox's bubblewrap remains)" >&2
  echo "setup_lean: comparator ready: $TOOLS/comparator/.lake/build/bin/comparator (verify.judge=auto uses it)" >&2
}
if [ "${COMPARATOR:-auto}" != "0" ]; then
  setup_comparator || true
fi
echo "setup_lean: ready. REPL binary: $BIN (run it with: lake env $BIN)"
