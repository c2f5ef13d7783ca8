"""``make_session(cfg.backend)``: the one place that turns a backend config into a ``LeanSession``.

``scripted`` runs the scripted world as a real subprocess behind the same ``ReplSession`` the real REPL uses,
so tests and search benchmarks exercise the actual protocol, framing, pool and restarts; ``in_process: true``
selects the subprocess-free ``WorldSession`` when only the semantics matter.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from prover.config import as_plain_dict
from prover.lean.session import LeanSession

BACKENDS = ("repl", "scripted", "dojo")


class LeanUnavailable(RuntimeError):
    """The configured backend cannot run on this machine; the message says what is missing and how to get it."""


def preflight(backend_cfg: Any) -> None:
    """Fail fast, before a run starts, when the backend's Lean cannot possibly start here.

    A missing toolchain would otherwise surface as one start error per problem; users want one sentence.
    """
    cfg = as_plain_dict(backend_cfg, "backend config")
    name = cfg.get("name")
    if name == "repl":
        command = list(cfg.get("command") or [])
        if not command:
            raise LeanUnavailable("backend.command is empty; it must be the argv that starts the REPL")
        exe = str(command[0])
        project = Path(str(cfg.get("project_dir") or "."))
        if shutil.which(exe) is None and not (project / exe).is_file():
            raise LeanUnavailable(
                f"backend=repl needs '{exe}' on PATH, and no Lean toolchain was found. Run `make lean` "
                "(installs elan, the Mathlib cache and the REPL; needs network), or use another backend, "
                "e.g. backend=scripted backend.world=WORLD.json"
            )
        if not project.is_dir():
            raise LeanUnavailable(f"backend.project_dir {project} does not exist")
    elif name == "dojo":
        if shutil.which("lake") is None:
            raise LeanUnavailable("backend=dojo needs a Lean toolchain (`lake` on PATH); run `make lean`")
    elif name == "scripted":
        world = cfg.get("world")
        if not world or not Path(str(world)).is_file():
            raise LeanUnavailable(
                f"backend=scripted needs backend.world to be a world JSON file, got {world!r}"
            )
    else:
        raise LeanUnavailable(f"unknown Lean backend {name!r}; choose one of: {', '.join(BACKENDS)}")


def make_session(backend_cfg: Any) -> LeanSession:
    """Build the session named by ``backend_cfg.name``; unknown names and missing fields are clear errors."""
    cfg = as_plain_dict(backend_cfg, "backend config")
    name = cfg.get("name")
    if name == "repl":
        from prover.lean.repl_backend import ReplSession

        return ReplSession(cfg)
    if name == "scripted":
        return _scripted(cfg)
    if name == "dojo":
        from prover.lean.dojo_backend import DojoSession

        return DojoSession(cfg)
    raise ValueError(f"unknown Lean backend {name!r}; choose one of: {', '.join(BACKENDS)}")


def _scripted(cfg: dict[str, Any]) -> LeanSession:
    world = cfg.get("world")
    if not world:
        raise ValueError("backend=scripted needs backend.world (a world JSON file)")
    path = Path(str(world))
    if not path.is_file():
        raise ValueError(f"scripted world file not found: {path}")
    if cfg.get("in_process"):
        from prover.lean.scripted_world import WorldSession

        return WorldSession.from_config(cfg) if hasattr(WorldSession, "from_config") else WorldSession(path)
    from prover.lean.repl_backend import ReplSession

    repl_cfg = {
        "start_timeout_s": 30.0,
        "header": "import Mathlib\n",
        **cfg,
        "command": [sys.executable, "-m", "prover.lean.scripted_world", str(path.resolve())],
        "project_dir": str(Path.cwd()),
    }
    return ReplSession(repl_cfg)
