#!/usr/bin/env bash
# Editor companion tests: install what they need (scripts/setup_editor.sh, idempotent), then the extension's
# unit tests (node --test) and the end-to-end test in a real VS Code (code-server + Chromium via Playwright).
# PROVER_EDITOR_SKIP_SETUP=1 skips the install step; extra arguments go to pytest.
set -euo pipefail

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

"$VENV/bin/python" -m pytest -q -p no:cacheprovider -m editor tests/editor "$@"
echo "[test-editor] end-to-end: $((SECONDS - t2)) s"
