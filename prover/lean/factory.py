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

from pydantic import Field, PositiveFloat, field_validator

from prover.config import as_plain_dict
from prover.errors import ConfigError, ProverError
from prover.lean.repl_backend import ReplSettings
from prover.lean.session import LeanSession
from prover.settings import Settings, load_settings

BACKENDS = ("repl", "scripted", "dojo")
_REPO_ROOT = Path(__file__).resolve().parents[2]


class LeanUnavailable(ProverError, RuntimeError):
    """The configured backend cannot run on this machine; the message says what is missing and how to get it."""


class ScriptedSettings(ReplSettings):
    """``backend=scripted`` (configs/backend/scripted.yaml): the REPL client's settings over a world server."""

    command: None = None  # the server command is ours; a user's command would be silently ignored
    project_dir: None = None
    world: str = Field(min_length=1)
    in_process: bool = False
    real_sleep: bool = True
    tactic_timeout_s: PositiveFloat = 2.0
    start_timeout_s: PositiveFloat = 30.0

    @field_validator("command", "project_dir", mode="before")
    @classmethod
    def _not_for_scripted(cls, value: Any) -> None:
        if value is not None:
            raise ValueError("backend=scripted runs its own world server; this key is for backend=repl")
        return None


class DojoSettings(Settings):
    """``backend=dojo`` (configs/backend/dojo.yaml)."""

    repo_url: str = Field(min_length=1)
    commit: str = Field(min_length=1)
    file_path: str = Field(min_length=1)
    tactic_timeout_s: PositiveFloat = 10.0
    guard: dict[str, Any] = Field(default_factory=dict)

    @field_validator("commit")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value.strip() in ("main", "master", "HEAD", "latest"):
            raise ValueError("a branch name floats: give a commit hash or a tag of the traced repository")
        return value


def check_backend_config(backend_cfg: Any) -> dict[str, Any]:
    """The backend config as a plain dict, after checking its name, keys and values.

    Raises :class:`ConfigError` (a ``ValueError``) with one line naming the key: a negative timeout, a
    ``command`` given as a string, a non-positive pool size or an unknown key never reach a session.
    """
    try:
        cfg = as_plain_dict(backend_cfg, "backend config")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    name = cfg.get("name")
    if name == "repl":
        from prover.lean.repl_backend import ReplConfig

        ReplConfig.from_mapping(cfg)
    elif name == "scripted":
        load_settings(ScriptedSettings, cfg, "backend", ignore=("name",))
    elif name == "dojo":
        load_settings(DojoSettings, cfg, "backend", ignore=("name",))
    else:
        raise ConfigError(f"unknown Lean backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return cfg


def preflight(backend_cfg: Any) -> None:
    """Fail fast, before a run starts, when the backend's Lean cannot possibly start here.

    A missing toolchain would otherwise surface as one start error per problem; users want one sentence.
    Raises :class:`ConfigError` for a malformed config, :class:`LeanUnavailable` for a missing toolchain.
    """
    cfg = check_backend_config(backend_cfg)
    name = cfg.get("name")
    if name == "repl":
        command = list(cfg["command"])
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
        if not world_path(str(world)).is_file():
            raise LeanUnavailable(
                f"backend=scripted needs backend.world to be a world JSON file, got {world!r}"
            )


def world_path(world: str) -> Path:
    """A world file as given, or, when a relative path does not exist here, relative to the repository root."""
    path = Path(world).expanduser()
    if not path.is_absolute() and not path.exists() and (_REPO_ROOT / path).exists():
        return _REPO_ROOT / path
    return path


def make_session(backend_cfg: Any) -> LeanSession:
    """Build the session named by ``backend_cfg.name``; a bad config is a :class:`ConfigError` naming the key."""
    cfg = check_backend_config(backend_cfg)
    name = cfg.get("name")
    if name == "repl":
        from prover.lean.repl_backend import ReplSession

        return ReplSession(cfg)
    if name == "scripted":
        return _scripted(cfg)
    from prover.lean.dojo_backend import DojoSession

    return DojoSession(cfg)


def _scripted(cfg: dict[str, Any]) -> LeanSession:
    settings = load_settings(ScriptedSettings, cfg, "backend", ignore=("name",))
    path = world_path(settings.world)
    if not path.is_file():
        raise ConfigError(f"backend.world: scripted world file not found: {path}")
    if settings.in_process:
        from prover.lean.scripted_world import WorldSession

        return WorldSession(
            path,
            tactic_timeout_s=settings.tactic_timeout_s,
            real_sleep=settings.real_sleep,
            pool_size=settings.pool_size or 1,
            guard=settings.guard or None,
        )
    from prover.lean.repl_backend import ReplSession

    repl_cfg = {
        **settings.model_dump(exclude={"world", "in_process", "real_sleep"}),
        "command": [sys.executable, "-m", "prover.lean.scripted_world", str(path.resolve())],
        "project_dir": str(Path.cwd()),
    }
    return ReplSession(repl_cfg)
