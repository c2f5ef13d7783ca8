"""What every subcommand shares: hydra overrides, ``--cfg``, clear errors, JSON-lines output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from prover.errors import ProverError
from prover.files import nearest_existing


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
    overrides = list(getattr(args, "overrides", []))
    try:
        return compose(overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise CliError(_explain_bad_override(overrides, exc)) from exc


def _override_key(override: str) -> str:
    """``~search.x``, ``+search.x=1``, ``search.x=1`` -> ``search.x``."""
    return override.split("=", 1)[0].lstrip("~+").strip()


def _explain_bad_override(overrides: list[str], exc: Exception) -> str:
    """One sentence for a failed composition; a mistyped key gets the nearest known keys, never hydra's
    "use +KEY" hint (which invites adding a key that nothing reads)."""
    import difflib
    import re

    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from prover.config import compose

    message = " ".join(str(exc).split())
    match = re.search(r"Could not (?:override|delete from config|append to config)\. ?'?([^'\s]+)'?", message)
    match = match or re.search(r"Could not override '([^']+)'", message)
    if match is None:
        return f"bad configuration: {message}"
    key = match.group(1)
    others = [o for o in overrides if _override_key(o) != key]
    try:
        base = compose(others)
    except (HydraException, OmegaConfBaseException):
        base = compose([])
    container = OmegaConf.to_container(base, resolve=False)
    known = _flat_keys({str(k): v for k, v in container.items()} if isinstance(container, dict) else {})
    if key in known:
        # the key exists: the value is what failed (a type or a missing config option of a group)
        message = re.sub(r"\s*To append to your config use \+\S+", "", message)
        return f"bad configuration: {message}"
    prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
    siblings = sorted(k for k in known if k.startswith(prefix) and "." not in k[len(prefix) :])
    by_name = {k[len(prefix) :]: k for k in siblings}
    close = [
        by_name[n] for n in difflib.get_close_matches(key[len(prefix) :], list(by_name), n=3, cutoff=0.5)
    ]
    close = close or difflib.get_close_matches(key, known, n=3, cutoff=0.75)
    hint = f"did you mean {', '.join(close)}?" if close else ""
    if not close and siblings:
        shown = ", ".join(siblings[:25]) + (", ..." if len(siblings) > 25 else "")
        hint = f"known keys{' of ' + prefix[:-1] if prefix else ''}: {shown}"
    return f"unknown config key '{key}'" + (f"; {hint}" if hint else "")


def _flat_keys(node: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key of a nested config, dotted (``search.max_expansions``), groups included (``search``)."""
    keys: list[str] = []
    for name, value in node.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        if isinstance(value, dict):
            keys.extend(_flat_keys(value, dotted + "."))
    return keys


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


def check_output_dir(path: str) -> None:
    """An output directory must be creatable and writable; said before any expensive work starts."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {path} is an existing file, not a directory; name a new or existing directory")
    parent = out if out.exists() else nearest_existing(out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"--out {path}: cannot write in {parent} (permission denied)")


def check_output_file(path: str) -> None:
    """An output file's folder must be writable and the path must not be a directory."""
    out = Path(path)
    if out.is_dir():
        raise CliError(f"--out {path} is a directory; name a file")
    parent = nearest_existing(out.parent if str(out.parent) else Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"--out {path}: cannot write in {parent} (permission denied)")
    if parent.exists() and not parent.is_dir():
        raise CliError(f"--out {path}: {parent} is a file, not a directory")


def read_text_arg(value: str, option: str) -> str:
    """The text of an option that may be ``-`` (stdin), as UTF-8: anything else is one sentence, not a traceback."""
    if value == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream given in place of stdin (tests, embedding): already decoded
            return sys.stdin.read()
        data = stream.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CliError(
                f"{option} -: standard input is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
            ) from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(f"{option}: the argument is not UTF-8 text") from None
    return value


def simulation_text(fields: Mapping[str, Any]) -> str | bool:
    """A run's ``simulation`` field from its versions (``run.json``'s backend fields): ``"BACKEND: no Lean ran"``
    for a scripted world or a double (``is_simulation``, the one test), ``False`` when Lean ran."""
    from prover.evaluation.versions import is_simulation

    return f"{fields.get('backend')}: no Lean ran" if is_simulation(dict(fields)) else False


def announce_simulation(command: str, fields: Mapping[str, Any]) -> str | bool:
    """:func:`simulation_text`, also said on stderr where a user looks first (not only in ``run.json``): nothing
    a simulated run "proves" was checked by Lean."""
    note = simulation_text(fields)
    if note:
        print(
            f"{command}: SIMULATION: {fields.get('backend')}; no result of this run was checked by Lean",
            file=sys.stderr,
        )
    return note
