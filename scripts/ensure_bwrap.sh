#!/usr/bin/env bash
# The sandbox tests run bubblewrap for real (backend.sandbox=bwrap). Install Debian's `bubblewrap` where it is
# missing and we may (root with apt-get); otherwise say once why the bwrap tests will skip. Never fails the build:
# the sandbox tests themselves decide (they skip, with a reason, where bwrap cannot run).
set -u
command -v bwrap >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "make test: installing bubblewrap (Debian package) for the sandbox tests" >&2
  { apt-get install -y -q bubblewrap >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1; }; } \
    || echo "make test: warning: could not install bubblewrap; the bwrap sandbox tests will skip" >&2
else
  echo "make test: bubblewrap (bwrap) is not installed and we are not root; install it (apt install bubblewrap) to run the sandbox tests" >&2
fi
exit 0
