"""What every subcommand shares: hydra overrides, ``--cfg``, clear errors, JSON-lines output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from omegaconf import DictConfig

from prover.errors import ProverError


class CliError(ProverError):
    """A user-facing error: printed as one line, exit code 2 (or its ``exit_code``), never a traceback."""

    exit_code = 2


class EnvironmentFailure(CliError):
    """The machine, not the command line, is wrong (Lean cannot start, a run directory is in use): exit code 1."""

    exit_code = 1


class NotYetAvailable(CliError):
    """A subcommand whose body a later issue provides."""


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Hydra overrides after the options, and ``--cfg`` to print the composed config and stop."""
    parser.add_argument("--cfg", action="store_true", help="print the composed hydra config and exit")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="hydra overrides, e.g. search=mcts search.max_expansions=200",
    )


def load_config(args: argparse.Namespace) -> DictConfig:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from prover.config import compose

    bad = [o for o in getattr(args, "overrides", []) if "=" not in o]
    if bad:
        raise CliError(f"not a hydra override (KEY=VALUE expected): {' '.join(bad)}")
    try:
        return compose(getattr(args, "overrides", []))
    except (HydraException, OmegaConfBaseException) as exc:
        raise CliError(f"bad configuration: {exc}") from exc


def print_config_if_asked(args: argparse.Namespace, cfg: DictConfig) -> bool:
    if getattr(args, "cfg", False):
        from prover.config import to_yaml

        sys.stdout.write(to_yaml(cfg))
        return True
    return False


def emit(record: dict[str, Any]) -> None:
    """One JSON object per line on stdout (unicode kept readable)."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def placeholder(name: str, issue: str):
    """A handler for a subcommand whose body is not written yet: exits non-zero and says so."""

    def run(args: argparse.Namespace) -> int:
        if hasattr(args, "overrides") and print_config_if_asked(args, load_config(args)):
            return 0
        raise NotYetAvailable(f"'prover {name}' is not implemented yet ({issue}); nothing was done")

    return run
