"""What actually ran: the backend and the Lean/Mathlib versions recorded with a run and shown in its report.

Why a module of its own: the versions pinned in ``lean-toolchain`` are what the project *wants*, not what a run
*used*. A scripted world is a simulation with no Lean at all, a REPL may sit in another project, and LeanDojo
traces its own repository. So a run records what its session reports (``LeanSession.describe``: the REPL asks
Lean itself), the Mathlib of the configured project's ``lake-manifest.json``, and ``"unknown"`` rather than a
guess. The pinned versions stay available separately for comparisons (benchmark version warnings).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prover.config import REPO_ROOT, as_plain_dict

#: Shown wherever a scripted run's versions would be: it is never Lean.
SIMULATION_NOTE = "a simulation, not Lean"


def is_simulation(meta: dict[str, Any]) -> bool:
    """Did the run of ``meta`` (``run.json``) use a scripted world or another double, not Lean?"""
    return SIMULATION_NOTE in str(meta.get("backend") or "") or meta.get("judge") == "simulation"


def pinned_versions(root: Path = REPO_ROOT) -> dict[str, str | None]:
    """The project's pins: Lean from ``lean-toolchain``, Mathlib from the lakefile (``v4.24.0``)."""
    return lean_versions(root)


def lean_versions(project_dir: Path) -> dict[str, str | None]:
    """Lean from ``lean-toolchain``, Mathlib from the lakefile's ``require mathlib ... @ "rev"``."""
    lean = mathlib = None
    toolchain = project_dir / "lean-toolchain"
    if toolchain.is_file():
        lean = toolchain.read_text(encoding="utf-8").strip().split(":")[-1] or None
    for name in ("lakefile.lean", "lakefile.toml"):
        lakefile = project_dir / name
        if not lakefile.is_file():
            continue
        text = lakefile.read_text(encoding="utf-8")
        m = re.search(r'require\s+"?mathlib"?\s+from\s+git\s+"[^"]+"\s*@\s*"([^"]+)"', text)
        m = m or re.search(r'name\s*=\s*"mathlib"[^\[]*?rev\s*=\s*"([^"]+)"', text, re.DOTALL)
        if m:
            mathlib = m.group(1)
            break
    return {"lean": lean, "mathlib": mathlib}


def lake_manifest_mathlib(project_dir: Path) -> str | None:
    """Mathlib's version in ``project_dir/lake-manifest.json``: its ``inputRev`` (a tag) or commit, else None."""
    path = project_dir / "lake-manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    packages = data.get("packages") if isinstance(data, dict) else None
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and package.get("name") == "mathlib":
            rev = package.get("inputRev") or package.get("rev")
            return str(rev) if rev else None
    return None


def session_versions(session: Any) -> dict[str, Any]:
    """``backend``, ``lean`` and ``mathlib`` as a started session describes itself: what a bare writer records
    when no :func:`run_versions` was handed to it."""
    described = session.describe()
    return {k: described.get(k) for k in ("backend", "lean", "mathlib")}


def run_versions(backend_cfg: Any, session: Any = None, judge: str | None = None) -> dict[str, Any]:
    """``{"backend", "lean", "mathlib", "judge", "sandbox"}`` of what runs (``None``: no Lean; ``"unknown"``).

    ``session`` (the preflight's, already started) is asked with ``describe()``; without one only what the
    config itself proves is recorded. ``judge``: the name of the judge that decides (the front door's).
    """
    cfg = as_plain_dict(backend_cfg, "backend config")
    name = str(cfg.get("name", "?"))
    described: dict[str, Any] = {}
    describe = getattr(session, "describe", None)
    if callable(describe):
        try:
            described = dict(describe())
        except Exception as exc:  # a report must not fail because a backend cannot answer
            described = {"describe_error": f"{type(exc).__name__}: {exc}"}
    sandbox = described.get("sandbox") or cfg.get("sandbox")
    trust = {"judge": judge, "sandbox": str(sandbox) if sandbox else None}
    if name == "scripted":
        from prover.lean.factory import world_path

        world = world_path(str(cfg.get("world", "?")))
        backend = f"scripted world {world} ({SIMULATION_NOTE})"
        return {"backend": backend, "lean": None, "mathlib": None, **trust}
    out: dict[str, Any] = {
        "backend": str(described.get("backend") or name),
        "lean": described.get("lean") or "unknown",
        "mathlib": described.get("mathlib") or "unknown",
    }
    if name == "repl":
        project = Path(str(described.get("project_dir") or cfg.get("project_dir") or "."))
        out["mathlib"] = lake_manifest_mathlib(project) or "unknown"
    if name == "dojo":
        out["backend"] = described.get("backend") or f"dojo {cfg.get('repo_url')}@{cfg.get('commit')}"
    return {**out, **trust}


def choose_toolchain(backend: dict[str, Any], lean_version: str | None) -> dict[str, Any] | None:
    """For a REPL backend: the Lean project ``backend.toolchain`` runs for a benchmark of ``lean_version``
    (``prover.lean.toolchain.resolve_toolchain``), written into ``backend["project_dir"]`` so the workers'
    sessions and the judge use the same one; returns what ``run.json`` records (None for other backends).
    Raises ``ToolchainMissing`` (one sentence naming the ``make lean`` line) when that release is not built."""
    if backend.get("name") != "repl":
        return None
    from prover.lean.factory import load_backend_settings
    from prover.lean.repl_backend import ReplConfig
    from prover.lean.toolchain import resolve_toolchain

    settings = load_backend_settings(backend)
    assert isinstance(settings, ReplConfig)
    chosen = resolve_toolchain(settings.toolchain, lean_version, settings.project_dir)
    backend["project_dir"] = str(chosen.project_dir)
    return {
        "setting": settings.toolchain,
        "benchmark_lean": lean_version,
        "lean": chosen.version,
        "source": chosen.source,
        "project_dir": str(chosen.project_dir),
    }


def describe_versions(meta: dict[str, Any]) -> str:
    """One line for a report: ``backend repl, Lean 4.24.0, Mathlib v4.24.0`` or the scripted simulation."""
    backend = meta.get("backend")
    lean, mathlib = meta.get("lean"), meta.get("mathlib")
    if backend is None:  # a run recorded before backends were described: its versions are the pinned text
        return f"backend unknown (recorded: Lean {lean or 'unknown'}, Mathlib {mathlib or 'unknown'}, from the pins)"
    if lean is None and mathlib is None:
        line = f"backend {backend}: no Lean ran"
    else:
        line = f"backend {backend}, Lean {lean or 'unknown'}, Mathlib {mathlib or 'unknown'}"
    toolchain = meta.get("toolchain")
    if isinstance(toolchain, dict) and toolchain.get("lean"):
        wanted = toolchain.get("benchmark_lean")
        line += f" (toolchain {toolchain['lean']}, {toolchain.get('source')}"
        line += f"; the benchmark's: {wanted})" if wanted else ")"
    return line + describe_trust(meta)


def describe_trust(meta: dict[str, Any]) -> str:
    """``; judge repl, sandbox bwrap`` for a report line ("" for runs recorded before either was)."""
    parts = [f"{key} {meta[key]}" for key in ("judge", "sandbox") if meta.get(key)]
    return "; " + ", ".join(parts) if parts else ""
