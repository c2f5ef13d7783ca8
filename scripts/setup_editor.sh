#!/usr/bin/env bash
# Install what the editor end-to-end test needs: Debian packages (only the missing ones), code-server from npm,
# @vscode/vsce, the companion's npm dev dependencies and Playwright for Python in the project venv.
# Everything except the Debian packages and the venv lands in $PROVER_EDITOR_CACHE (outside the repo), so a
# second run is fast. Idempotent; prints what it did. No browser download: Debian's chromium is used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${PROVER_EDITOR_CACHE:-$HOME/.cache/lean-prover-editor}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
VSCE_VERSION="${VSCE_VERSION:-3.6.0}"
# @vscode/ripgrep version that code-server $CODE_SERVER_VERSION bundles, and the asset its postinstall wants.
RG_PKG_VERSION="1.15.11"
RG_ASSET="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
VENV="${PROVER_VENV:-$ROOT/.venv}"
DEBS=(libkrb5-dev libxkbfile-dev libsecret-1-dev build-essential pkg-config ripgrep chromium chromium-driver)

say() { printf '[setup-editor] %s\n' "$*"; }
export npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

mkdir -p "$CACHE"

# 1. Debian packages, only those missing.
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages: all present"
elif [ "$(id -u)" -ne 0 ]; then
  say "ERROR: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 2
else
  say "Debian packages: installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. code-server from npm. Its postinstall downloads ripgrep from GitHub; pre-seed that download cache from
#    Debian's rg so the install works offline.
CS_DIR="$CACHE/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
if [ -x "$CS_BIN" ] && grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$CS_DIR/node_modules/code-server/package.json"; then
  say "code-server $CODE_SERVER_VERSION: present"
else
  TMP_BASE="${TMPDIR:-/tmp}"
  RG_CACHE="$TMP_BASE/vscode-ripgrep-cache-$RG_PKG_VERSION"
  if [ ! -s "$RG_CACHE/$RG_ASSET" ]; then
    mkdir -p "$RG_CACHE"
    work="$(mktemp -d)"
    cp "$(command -v rg)" "$work/rg"
    tar -C "$work" -czf "$RG_CACHE/$RG_ASSET" rg
    rm -rf "$work"
    say "ripgrep download cache seeded from $(command -v rg) at $RG_CACHE/$RG_ASSET"
  fi
  say "code-server $CODE_SERVER_VERSION: installing into $CS_DIR (a few minutes; node-pty is compiled)"
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{"name": "lean-prover-editor-code-server", "private": true}' >"$CS_DIR/package.json"
  (cd "$CS_DIR" && npm install --unsafe-perm --no-save "code-server@$CODE_SERVER_VERSION" >"$CACHE/code-server-install.log" 2>&1) || {
    say "ERROR: code-server install failed; see $CACHE/code-server-install.log" >&2
    tail -20 "$CACHE/code-server-install.log" >&2
    exit 1
  }
fi

# 3. vsce, to package the extension.
VSCE_DIR="$CACHE/vsce"
if [ -x "$VSCE_DIR/node_modules/.bin/vsce" ]; then
  say "@vscode/vsce: present"
else
  say "@vscode/vsce $VSCE_VERSION: installing into $VSCE_DIR"
  mkdir -p "$VSCE_DIR"
  [ -f "$VSCE_DIR/package.json" ] || echo '{"name": "lean-prover-editor-vsce", "private": true}' >"$VSCE_DIR/package.json"
  (cd "$VSCE_DIR" && npm install --no-save "@vscode/vsce@$VSCE_VERSION" >"$CACHE/vsce-install.log" 2>&1)
fi

# 4. The companion's dev dependencies (TypeScript, type definitions).
if [ -x "$ROOT/editors/vscode/node_modules/.bin/tsc" ]; then
  say "companion npm dependencies: present"
else
  say "companion npm dependencies: installing"
  (cd "$ROOT/editors/vscode" && npm ci >"$CACHE/companion-install.log" 2>&1)
fi

# 5. Playwright for Python in the project venv (the browser is Debian's chromium, not a download).
if "$VENV/bin/python" -c "import playwright" 2>/dev/null; then
  say "playwright (python): present"
else
  say "playwright (python): installing into $VENV"
  constraints=()
  [ -f "$ROOT/requirements/constraints.txt" ] && constraints=(-c "$ROOT/requirements/constraints.txt")
  "$VENV/bin/pip" install -q "${constraints[@]}" playwright
fi
say "done (cache: $CACHE)"
