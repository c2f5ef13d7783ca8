"""``make_session(cfg.backend)``: the one place that turns a backend config into a ``LeanSession``.

``scripted`` runs the scripted world as a real subprocess behind the same ``ReplSession`` the real REPL uses,
so tests and search benchmarks exercise the actual protocol, framing, pool and restarts; ``in_process: true``
selects the subprocess-free ``WorldSession`` when only the semantics matter.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prover.lean.session import LeanSession

BACKENDS = ("repl", "scripted", "dojo")


def _as_dict(cfg: Any) -> dict[str, Any]:
    if isinstance(cfg, Mapping):
        return dict(cfg)
    try:
        from omegaconf import OmegaConf

        return dict(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    except Exception as exc:
        raise ValueError(f"backend config must be a mapping, got {type(cfg).__name__}") from exc


def make_session(backend_cfg: Any) -> LeanSession:
    """Build the session named by ``backend_cfg.name``; unknown names and missing fields are clear errors."""
    cfg = _as_dict(backend_cfg)
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
