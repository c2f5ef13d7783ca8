"""The Lean project's pins and its setup script (no Lean needed: the pins are read as text, ``lake`` is faked)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

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
        "COMPARATOR": "0",  # comparator needs github.com; its build is tested with the judge
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


#: A fake ``lake`` that builds the REPL binary of the project it runs in (``$PWD``), as the real one does.
FAKE_LAKE_HERE = """#!/bin/bash
echo "$PWD|$*" >> "$FAKE_LOG"
if [ "$1" = build ] && [ "$2" = repl ]; then
  bin="$PWD/.lake/packages/REPL/.lake/build/bin"
  mkdir -p "$bin" && printf '#!/bin/sh\\n' > "$bin/repl" && chmod +x "$bin/repl"
fi
exit 0
"""


def _fake_tools(tmp_path: Path, script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("lake", "elan"):
        (bin_dir / tool).write_text(script)
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def test_a_release_of_its_own_is_built_under_the_user_cache_and_picked_by_auto(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make lean LEAN_VERSION=v4.15.0`` (fake ``lake``): a project pinned to v4.15.0 with Mathlib and the REPL
    at the same tag, under ``$PROVER_LEAN_HOME``; ``backend.toolchain=auto`` refuses in one sentence naming that
    line before the build and runs there after it."""
    from prover.lean.factory import make_session, preflight
    from prover.lean.toolchain import ToolchainMissing, resolve_toolchain

    cache = tmp_path / "cache"
    monkeypatch.setenv("PROVER_LEAN_HOME", str(cache))
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(repo_root / "lean-toolchain", project / "lean-toolchain")
    backend = {
        "name": "repl",
        "command": ["lake", "env", "repl"],
        "project_dir": str(project),
        "sandbox": "none",
    }

    with pytest.raises(ToolchainMissing) as missing:
        preflight(backend, lean_version="v4.15.0")
    message = str(missing.value)
    assert "`make lean LEAN_VERSION=v4.15.0`" in message and "backend.toolchain=project" in message
    assert "\n" not in message
    assert resolve_toolchain("auto", "v4.24.0", project).project_dir == project  # the pin: no build needed
    assert resolve_toolchain("project", "v4.15.0", project).source == "project"

    log = tmp_path / "lake.log"
    env = {
        "PATH": f"{_fake_tools(tmp_path, FAKE_LAKE_HERE)}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "FAKE_LOG": str(log),
        "PROVER_LEAN_HOME": str(cache),
        "LEAN_VERSION": "4.15.0",
        "COMPARATOR": "0",
    }
    proc = subprocess.run(
        ["bash", str(repo_root / "scripts" / "setup_lean.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    built = cache / "v4.15.0"
    assert (built / "lean-toolchain").read_text().strip() == "leanprover/lean4:v4.15.0"
    revs = re.findall(
        r'require (\w+) from git\s+"[^"]+"\s*@\s*"([^"]+)"', (built / "lakefile.lean").read_text()
    )
    assert dict(revs) == {"mathlib": "v4.15.0", "REPL": "v4.15.0"}
    dirs = {line.split("|", 1)[0] for line in log.read_text().splitlines()}
    assert dirs == {str(built)}  # every lake call ran in the release's project, none in the repository

    chosen = resolve_toolchain("auto", "leanprover/lean4:v4.15.0", project)
    assert chosen.project_dir == built and chosen.source == "cache" and chosen.version == "v4.15.0"
    session = make_session(backend, lean_version="v4.15.0")
    try:
        assert session.config.project_dir == built  # type: ignore[attr-defined]
    finally:
        session.close()
    with pytest.raises(ToolchainMissing, match="make lean LEAN_VERSION=v4.27.0"):
        make_session({**backend, "toolchain": "v4.27.0"})


def test_make_lean_passes_the_release_to_the_setup(repo_root: Path) -> None:
    done = subprocess.run(
        ["make", "-n", "-C", str(repo_root), "lean", "LEAN_VERSION=v4.9.0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'LEAN_VERSION="v4.9.0" bash scripts/setup_lean.sh' in done.stdout


def test_a_bad_release_is_refused_by_the_setup_and_the_config(repo_root: Path, tmp_path: Path) -> None:
    from prover.errors import ConfigError
    from prover.lean.factory import load_backend_settings

    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LEAN_VERSION": "latest; rm -rf /"}
    proc = subprocess.run(
        ["bash", str(repo_root / "scripts" / "setup_lean.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and "LEAN_VERSION must be a Lean release" in proc.stderr
    with pytest.raises(ConfigError, match="toolchain"):
        load_backend_settings({"name": "repl", "command": ["lake"], "toolchain": "latest"})


def test_prove_with_toolchain_auto_runs_the_benchmarks_release_or_names_the_make_line(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``prover prove benchmark=putnambench`` (written for v4.27.0, the manifest says) with
    ``backend.toolchain=auto``: before that release is built, one sentence naming ``make lean LEAN_VERSION=v4.27.0``
    and nothing written; once built, the run's workers and judge get that project and ``run.json`` says so."""
    from prover.cli.main import main
    from prover.evaluation.manifest import benchmark_lean_version
    from prover.evaluation.versions import choose_toolchain, describe_versions
    from prover.lean.toolchain import REPL_BINARY

    cache = tmp_path / "cache"
    monkeypatch.setenv("PROVER_LEAN_HOME", str(cache))
    monkeypatch.setenv(
        "PATH", f"{_fake_tools(tmp_path, FAKE_LAKE_HERE)}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(repo_root / "lean-toolchain", project / "lean-toolchain")
    sample = repo_root / "datasets" / "samples" / "putnambench-sample.jsonl"
    assert benchmark_lean_version({"name": "putnambench", "path": str(sample)}) == "v4.27.0"
    assert benchmark_lean_version({"name": "my_own_file"}) is None
    run = tmp_path / "run"
    args = [
        "benchmark=putnambench",
        f"benchmark.path={sample}",
        "backend=repl",
        f"backend.project_dir={project}",
        "backend.toolchain=auto",
        "backend.sandbox=none",
        "executor.workers=0",
    ]
    assert main(["prove", "--no-progress", "--out", str(run), *args]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "`make lean LEAN_VERSION=v4.27.0`" in errors[0], errors
    assert "backend.toolchain=project" in errors[0]
    assert not run.exists()

    built = cache / "v4.27.0"
    (built / REPL_BINARY).parent.mkdir(parents=True)
    (built / REPL_BINARY).write_text("#!/bin/sh\n")
    (built / "lean-toolchain").write_text("leanprover/lean4:v4.27.0\n")
    backend = {
        "name": "repl",
        "command": ["lake", "env", "repl"],
        "project_dir": str(project),
        "sandbox": "none",
    }
    chosen = choose_toolchain(backend, "v4.27.0")
    assert backend["project_dir"] == str(built)  # what every worker's session and the judge are built from
    assert chosen is not None and (chosen["lean"], chosen["source"]) == ("v4.27.0", "cache")
    meta = {"backend": "repl", "lean": "4.27.0", "mathlib": "v4.27.0", "toolchain": chosen}
    assert "toolchain v4.27.0, cache; the benchmark's: v4.27.0" in describe_versions(meta)
    pinned = {**backend, "project_dir": str(project), "toolchain": "project"}
    assert choose_toolchain(pinned, "v4.27.0")["source"] == "project"  # type: ignore[index]
    assert pinned["project_dir"] == str(project)
    assert choose_toolchain({"name": "scripted", "world": "w.json"}, "v4.27.0") is None
