#!/usr/bin/env bash
# Editor companion tests: install what they need (scripts/setup_editor.sh, idempotent), then the extension's
# unit tests (node --test) and the end-to-end test in a real VS Code (code-server + Chromium via Playwright).
# The end-to-end test runs the companion against the real `prover serve` on a scripted world (its overrides are
# in tests/editor/real_server.json); `--fake` (or PROVER_EDITOR_SERVER=fake) uses tests/editor/fake_server.py
# instead, for work on the extension alone. PROVER_EDITOR_SKIP_SETUP=1 skips the install step; other arguments
# go to pytest.
set -euo pipefail

SERVER="${PROVER_EDITOR_SERVER:-real}"
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --fake) SERVER=fake ;;
    --real) SERVER=real ;;
    *) ARGS+=("$arg") ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PROVER_VENV:-$ROOT/.venv}"
cd "$ROOT"

t0=$SECONDS
if [ "${PROVER_EDITOR_SKIP_SETUP:-0}" != "1" ]; then
  bash scripts/setup_editor.sh
fi
t1=$SECONDS
echo "[test-editor] setup: $((t1 - t0)) s"

(cd editors/vscode && npm run --silent compile && node --test out/test/)
t2=$SECONDS
echo "[test-editor] unit tests: $((t2 - t1)) s"

echo "[test-editor] end-to-end against the $SERVER server"
PROVER_EDITOR_SERVER="$SERVER" "$VENV/bin/python" -m pytest -q -p no:cacheprovider -m editor tests/editor \
  ${ARGS[@]+"${ARGS[@]}"}
echo "[test-editor] end-to-end ($SERVER server): $((SECONDS - t2)) s"
