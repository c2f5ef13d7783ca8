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

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from prover.config import as_plain_dict
from prover.errors import ConfigError
from prover.lean.dojo_backend import DojoSettings
from prover.lean.repl_backend import ReplClientSettings, ReplConfig, ReplSession, check_guard_block
from prover.lean.sandbox import LeanUnavailable, SandboxMode, SandboxUnavailable, make_sandbox
from prover.lean.session import LeanSession
from prover.settings import Settings, load_settings

BACKENDS = ("repl", "scripted", "dojo")
_REPO_ROOT = Path(__file__).resolve().parents[2]


class ScriptedSettings(ReplClientSettings):
    """``backend=scripted`` (configs/backend/scripted.yaml mirrors the defaults): the REPL client's settings
    over a world server (``command``/``project_dir`` are ours, so they are unknown keys here)."""

    world: str = Field(min_length=1)
    in_process: bool = False
    real_sleep: bool = True
    tactic_timeout_s: PositiveFloat = 2.0
    start_timeout_s: PositiveFloat = 30.0
    max_rss_mb: NonNegativeFloat | None = None
    restart_every: NonNegativeInt | None = None
    pool_size: PositiveInt | None = 1
    #: a world server imports nothing, so a spare saves nothing
    warm_spares: NonNegativeInt = 0


class DojoBackendSettings(DojoSettings):
    """``backend=dojo`` with the ``sandbox`` key every backend that elaborates model text has (issue 19).

    LeanDojo starts its own Lean processes on the host (the user's uid and environment, network, a writable
    project), and they cannot be put in our sandbox: so ``auto``/``bwrap`` refuse to run it
    (:func:`check_dojo_sandbox`), and ``backend.sandbox=none`` runs it unsandboxed, recorded in ``run.json`` as
    for the REPL (``prover.evaluation.versions.run_versions``)."""

    sandbox: SandboxMode = "auto"


#: One sentence: why dojo does not run under ``auto``/``bwrap``, and what to pass instead.
DOJO_SANDBOX_REFUSAL = (
    "backend=dojo cannot run in a sandbox (LeanDojo starts its own Lean processes on the host), so it refuses "
    "backend.sandbox={mode}; pass backend.sandbox=none to run it unsandboxed (recorded in run.json), or use "
    "backend=repl, which is sandboxed"
)


def check_dojo_sandbox(settings: DojoSettings) -> str:
    """``none`` when the dojo backend may run; raises ``SandboxUnavailable`` (one sentence) otherwise."""
    mode = getattr(settings, "sandbox", "auto")
    if mode != "none":
        raise SandboxUnavailable(DOJO_SANDBOX_REFUSAL.format(mode=mode))
    return "none"


#: The settings model of each backend, by ``backend.name``.
BACKEND_SETTINGS: dict[str, type[Settings]] = {
    "repl": ReplConfig,
    "scripted": ScriptedSettings,
    "dojo": DojoBackendSettings,
}


def load_backend_settings(backend_cfg: Any) -> Settings:
    """The backend config as its typed settings model, after checking its name, keys and values.

    Raises :class:`ConfigError` (a ``ValueError``) with one line naming the key: a negative timeout, a
    ``command`` given as a string, a non-positive pool size or an unknown key never reach a session.
    """
    try:
        cfg = as_plain_dict(backend_cfg, "backend config")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    name = cfg.get("name")
    if name == "repl":
        return ReplConfig.from_mapping(cfg)
    if name in BACKEND_SETTINGS:
        check_guard_block(cfg)
        return load_settings(BACKEND_SETTINGS[name], cfg, "backend", ignore=("name",))
    raise ConfigError(f"unknown Lean backend {name!r}; choose one of: {', '.join(BACKENDS)}")


def check_backend_config(backend_cfg: Any) -> dict[str, Any]:
    """The backend config as a plain dict, after :func:`load_backend_settings` accepted it."""
    load_backend_settings(backend_cfg)
    return as_plain_dict(backend_cfg, "backend config")


def with_toolchain(settings: ReplConfig, lean_version: str | None) -> ReplConfig:
    """``settings`` with ``project_dir`` set to the Lean project of ``backend.toolchain`` for a benchmark
    written for ``lean_version`` (``prover.lean.toolchain``); raises ``ToolchainMissing`` (one sentence,
    naming the ``make lean`` line) when that release is not built."""
    from prover.lean.toolchain import resolve_toolchain

    chosen = resolve_toolchain(settings.toolchain, lean_version, settings.project_dir)
    if chosen.project_dir == settings.project_dir:
        return settings
    return settings.model_copy(update={"project_dir": chosen.project_dir})


def preflight(backend_cfg: Any, *, lean_version: str | None = None) -> None:
    """Fail fast, before a run starts, when the backend's Lean cannot possibly start here.

    A missing toolchain would otherwise surface as one start error per problem; users want one sentence.
    Raises :class:`ConfigError` for a malformed config, :class:`LeanUnavailable` for a missing toolchain.
    """
    settings = load_backend_settings(backend_cfg)
    if isinstance(settings, ReplConfig):
        settings = with_toolchain(settings, lean_version)
        exe = str(settings.command[0])
        project = settings.project_dir
        if shutil.which(exe) is None and not (project / exe).is_file():
            raise LeanUnavailable(
                f"backend=repl needs '{exe}' on PATH, and no Lean toolchain was found. Run `make lean` "
                "(installs elan, the Mathlib cache and the REPL; needs network), or use another backend, "
                "e.g. backend=scripted backend.world=WORLD.json"
            )
        if not project.is_dir():
            raise LeanUnavailable(f"backend.project_dir {project} does not exist")
        check_sandbox(settings)
    elif isinstance(settings, DojoSettings):
        check_dojo_sandbox(settings)
        if shutil.which("lake") is None:
            raise LeanUnavailable("backend=dojo needs a Lean toolchain (`lake` on PATH); run `make lean`")
    elif isinstance(settings, ScriptedSettings):
        world = settings.world
        if not world_path(world).is_file():
            raise LeanUnavailable(
                f"backend=scripted needs backend.world to be a world JSON file, got {world!r}"
            )
        if not settings.in_process:
            check_sandbox(settings)


def check_sandbox(settings: ReplClientSettings) -> str:
    """The sandbox mode the REPL pool will run in (``bwrap``/``none``); raises ``SandboxUnavailable`` (a
    ``LeanUnavailable``, one sentence) when ``backend.sandbox`` asks for one that cannot run here."""
    return make_sandbox(settings.sandbox, settings.sandbox_limits, max_rss_mb=settings.max_rss_mb).describe()


def world_path(world: str) -> Path:
    """A world file as given, or, when a relative path does not exist here, relative to the repository root."""
    path = Path(world).expanduser()
    if not path.is_absolute() and not path.exists() and (_REPO_ROOT / path).exists():
        return _REPO_ROOT / path
    return path


def make_session(backend_cfg: Any, *, lean_version: str | None = None) -> LeanSession:
    """Build the session named by ``backend_cfg.name``; a bad config is a :class:`ConfigError` naming the key.

    ``lean_version``: the release the benchmark is written for (its manifest entry), which
    ``backend.toolchain=auto`` runs when it is built (``with_toolchain``)."""
    settings = load_backend_settings(backend_cfg)
    if isinstance(settings, ReplConfig):
        return ReplSession(with_toolchain(settings, lean_version))
    if isinstance(settings, ScriptedSettings):
        return _scripted(settings)
    assert isinstance(settings, DojoSettings)
    check_dojo_sandbox(settings)  # before LeanDojo starts anything on the host
    from prover.lean.dojo_backend import DojoSession

    return DojoSession(settings)


def _scripted(settings: ScriptedSettings) -> LeanSession:
    path = world_path(settings.world)
    if not path.is_file():
        raise ConfigError(f"backend.world: scripted world file not found: {path}")
    if settings.in_process:
        from prover.lean.doubles.session import WorldSession

        return WorldSession(
            path,
            tactic_timeout_s=settings.tactic_timeout_s,
            real_sleep=settings.real_sleep,
            pool_size=settings.pool_size or 1,
            guard=settings.guard,
        )
    # cwd is the repository, not the caller's directory: a sandbox shows its cwd, and the world file is all
    # the double reads besides its own code
    dumped = settings.model_dump(exclude={"world", "in_process", "real_sleep", "sandbox_paths"})
    repl_cfg = ReplConfig(
        **dumped,
        command=[sys.executable, "-m", "prover.lean.doubles.server", str(path.resolve())],
        project_dir=_REPO_ROOT,
        sandbox_paths=[*settings.sandbox_paths, path.resolve()],
    )
    return ReplSession(repl_cfg)
