"""Configuration: hydra config groups under ``configs/``, composed with hydra's compose API.

The CLI composes once per invocation; library code receives plain ``DictConfig`` sections and never
calls hydra itself, so it stays usable from notebooks and tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

CONFIG_NAME = "prover"
#: The project root (the folder holding ``configs/`` and ``datasets/``); ``${repo:PATH}`` in a config means PATH here.
REPO_ROOT = Path(__file__).resolve().parent.parent


def repo_path(relative: str) -> str:
    """``${repo:datasets/samples/theorems.jsonl}``: shipped data resolved from the project root, never from cwd."""
    return str((REPO_ROOT / str(relative)).resolve())


# Registered at import: every code path that resolves a config (compose, resume, factories) imports this module.
if not OmegaConf.has_resolver("repo"):
    OmegaConf.register_new_resolver("repo", repo_path)


def config_dir() -> Path:
    """Where the config groups live: ``$PROVER_CONFIG_DIR`` or the repository's ``configs/``."""
    env = os.environ.get("PROVER_CONFIG_DIR")
    if env:
        return Path(env).resolve()
    return (Path(__file__).resolve().parent.parent / "configs").resolve()


def compose(overrides: Sequence[str] = (), config_name: str = CONFIG_NAME) -> DictConfig:
    """Compose the configuration with hydra override syntax (``search=mcts search.budget=100``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    directory = config_dir()
    if not (directory / f"{config_name}.yaml").is_file():
        raise FileNotFoundError(
            f"no {config_name}.yaml in config directory {directory} (set PROVER_CONFIG_DIR)"
        )
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(directory), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=False)


def as_plain_dict(cfg: Any, what: str = "config") -> dict[str, Any]:
    """A config section (``DictConfig``, mapping or ``None``) as a plain, resolved ``dict``.

    Library factories accept both hydra sections and plain dicts, so tests and notebooks need no hydra.
    """
    if cfg is None:
        return {}
    if isinstance(cfg, Mapping) and not OmegaConf.is_config(cfg):  # a DictConfig is a Mapping too
        return dict(cfg)
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:
        raise ValueError(f"{what} must be a mapping, got {type(cfg).__name__}") from exc
    if not isinstance(container, dict):
        raise ValueError(f"{what} must be a mapping, got {type(container).__name__}")
    return {str(k): v for k, v in container.items()}
