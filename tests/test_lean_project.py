"""The Lean project's pins and its setup script (no Lean needed: the pins are read as text, ``lake`` is faked)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

#: Lake resolves a bare target name to an executable, then a library, then a package (Lake's
#: ``resolveTargetInWorkspace``): ``REPL`` is the REPL package's *library* (oleans only), ``repl`` its executable.
FAKE_LAKE = """#!/bin/bash
echo "$PWD|$*" >> "$FAKE_LOG"
if [ "$1" = build ] && [ "$2" = repl ]; then
  bin="$FAKE_ROOT/.lake/packages/REPL/.lake/build/bin"
  mkdir -p "$bin" && printf '#!/bin/sh\\n' > "$bin/repl" && chmod +x "$bin/repl"
fi
exit 0
"""


def test_pins_agree(repo_root: Path) -> None:
    """lean-toolchain, the Mathlib tag and the REPL tag name the same Lean release (the REPL's v4.24.0 tag
    builds with leanprover/lean4:v4.24.0 and its test project requires Mathlib v4.24.0)."""
    toolchain = (repo_root / "lean-toolchain").read_text().strip()
    m = re.fullmatch(r"leanprover/lean4:(v\d+\.\d+\.\d+)", toolchain)
    assert m, toolchain
    lakefile = (repo_root / "lakefile.lean").read_text()
    revs = dict(re.findall(r'require (\w+) from git\s+"[^"]+"\s*@\s*"([^"]+)"', lakefile))
    assert revs == {"mathlib": m.group(1), "REPL": m.group(1)}
    assert (repo_root / "lean_project" / "LeanProver.lean").read_text().startswith("import Mathlib")


def test_setup_builds_the_repl_executable(repo_root: Path, tmp_path: Path) -> None:
    """``lake build REPL`` builds the REPL *library* and succeeds, so the binary was never built and the setup
    always stopped at "the REPL binary is missing"; the executable target is ``repl``."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(repo_root / "scripts" / "setup_lean.sh", root / "scripts" / "setup_lean.sh")
    shutil.copy(repo_root / "lean-toolchain", root / "lean-toolchain")
    (root / ".lake" / "packages" / "REPL").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("lake", "elan"):
        (bin_dir / tool).write_text(FAKE_LAKE)
        (bin_dir / tool).chmod(0o755)
    log = tmp_path / "lake.log"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "FAKE_LOG": str(log),
        "FAKE_ROOT": str(root),
    }
    proc = subprocess.run(
        ["bash", str(root / "scripts" / "setup_lean.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ready" in proc.stderr + proc.stdout
    calls = [line.split("|", 1)[1] for line in log.read_text().splitlines()]
    assert "build repl" in calls and "build REPL" not in calls
