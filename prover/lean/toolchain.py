"""A Lean toolchain per benchmark: which built Lean project (and its REPL) a run uses.

Benchmarks are written for different Lean/Mathlib releases (``datasets/manifest.json``: DeepSeek's miniF2F
v4.9, the FPS sets v4.15, PutnamBench v4.27; the project pins v4.24 in ``lean-toolchain``). Statements of
another release may not elaborate, or may mean something else after renames, so a run should use the release
its benchmark names. ``make lean LEAN_VERSION=v4.15.0`` builds a Lean project for that release (its
``lean-toolchain``, Mathlib at the same tag, the REPL at the same tag) under :func:`cache_root`; the project's
own pin is built in the repository by plain ``make lean``.

``backend.toolchain``:

``auto`` (default)
    the benchmark's release when it is built (or is the project's pin); otherwise a :class:`ToolchainMissing`
    whose one sentence names the ``make lean`` line that builds it, and the override that runs the pinned
    release anyway;
``project``
    always the project's pin (what every run did before; the evaluation layer warns about the mismatch);
``v4.15.0`` (any release)
    that release, built, whatever the benchmark says.

The REPL command (``lake env .lake/packages/REPL/.lake/build/bin/repl``) is relative to ``project_dir``, so
choosing a toolchain is choosing ``project_dir``; the sandbox binds it read-only. Reports name the release
that ran: ``ReplSession.describe()`` asks the running Lean for its version.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prover.lean.sandbox import LeanUnavailable

#: The REPL binary inside a built project (``scripts/setup_lean.sh`` checks the same path).
REPL_BINARY = Path(".lake/packages/REPL/.lake/build/bin/repl")
_VERSION = re.compile(r"v?(\d+\.\d+\.\d+(?:-rc\d+)?)")


class ToolchainMissing(LeanUnavailable):
    """The Lean release a run needs is not built here; the message names the ``make lean`` line."""


@dataclass(frozen=True)
class Toolchain:
    """The Lean project a run uses: its release and directory (``project_dir`` of the REPL backend)."""

    version: str | None
    project_dir: Path
    #: ``project`` (the repository's pin) or ``cache`` (built by ``make lean LEAN_VERSION=...``)
    source: Literal["project", "cache"]


def normalise_version(version: str) -> str:
    """``leanprover/lean4:v4.15.0``, ``4.15.0`` and ``v4.15.0`` are all ``v4.15.0``; raises ``ValueError``."""
    text = version.strip().split(":")[-1].strip()
    match = _VERSION.fullmatch(text)
    if not match:
        raise ValueError(f"not a Lean release: {version!r} (expected e.g. v4.15.0)")
    return f"v{match.group(1)}"


def cache_root() -> Path:
    """Where per-release projects live: ``$PROVER_LEAN_HOME``, else ``$XDG_CACHE_HOME/lean-prover/lean``
    (``~/.cache/lean-prover/lean``). ``scripts/setup_lean.sh`` computes the same path."""
    env = os.environ.get("PROVER_LEAN_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lean-prover" / "lean"


def version_dir(version: str) -> Path:
    return cache_root() / normalise_version(version)


def project_version(project_dir: Path) -> str | None:
    """The release ``project_dir/lean-toolchain`` pins (None when there is none or it is not a release)."""
    try:
        return normalise_version((project_dir / "lean-toolchain").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_built(project_dir: Path, version: str | None = None) -> bool:
    """``project_dir`` pins ``version`` (when given) and has its REPL binary."""
    if version is not None and project_version(project_dir) != normalise_version(version):
        return False
    return (project_dir / REPL_BINARY).is_file()


def make_line(version: str) -> str:
    return f"make lean LEAN_VERSION={normalise_version(version)}"


def resolve_toolchain(setting: str, wanted: str | None, project_dir: Path) -> Toolchain:
    """The project to run for ``backend.toolchain=setting`` when the benchmark names release ``wanted``.

    Raises :class:`ToolchainMissing` (one sentence) when that release is not built, ``ValueError`` for a
    setting that is neither ``auto``, ``project`` nor a release."""
    project_dir = Path(project_dir)
    pinned = project_version(project_dir)
    here = Toolchain(pinned, project_dir, "project")
    setting = setting.strip()
    if setting == "project":
        return here
    if setting == "auto":
        if not wanted:
            return here
        target = normalise_version(wanted)
        why = f"the benchmark is written for Lean {target}"
    else:
        target = normalise_version(setting)
        why = f"backend.toolchain={target}"
    if target == pinned:
        return here
    built = version_dir(target)
    if is_built(built, target):
        return Toolchain(target, built, "cache")
    anyway = f"pass backend.toolchain=project to run on the project's Lean {pinned}" if pinned else ""
    raise ToolchainMissing(
        f"{why} and it is not built here: run `{make_line(target)}` (builds it under {cache_root()})"
        + (f", or {anyway}" if anyway else "")
    )
