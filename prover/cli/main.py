"""Entry point of the ``prover`` command: one module per subcommand under ``prover.cli``.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets ``func``.
Modules import heavy libraries (torch, transformers, faiss) inside their handlers, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys

from prover import __version__, progress
from prover.errors import ProverError
from prover.log import setup_logging

#: (subcommand module, in the order shown by --help)
SUBCOMMANDS = (
    "prove",
    "lean",
    "index",
    "retrieve",
    "suggest",
    "data",
    "train",
    "iterate",
    "synth",
    "solve",
    "serve",
    "tree",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prover",
        description="A theorem-proving agent for Lean 4.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"prover {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    parser.add_argument(
        "--no-progress",
        dest="global_no_progress",
        action="store_true",
        help="no progress output on stderr (accepted anywhere on the line)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"prover.cli.cmd_{name}").register(sub)
    return parser


#: The global flags accepted anywhere on the line (``prover prove -v ...`` as well as ``prover -v prove``).
VERBOSITY_FLAGS = {"-v": 1, "-vv": 2, "-vvv": 3, "--verbose": 1, "--no-progress": 0}


#: set when SIGTERM arrived: the KeyboardInterrupt raised for it then ends with "terminated" and exit 143
_TERMINATED = {"hit": False}


def _raise_terminated(signum: int, frame: object) -> None:
    """SIGTERM, raised where the program is, so every command ends with one sentence and exit 143 (commands
    with their own handler — prove, solve, train — replace this one while they run)."""
    _TERMINATED["hit"] = True
    raise KeyboardInterrupt


def _hoist_verbosity(argv: list[str]) -> list[str]:
    """Move verbosity flags placed after the subcommand to the front, where argparse expects them.

    No subcommand defines ``-v`` itself, so the move never changes what another option means; a ``--``
    ends the scan (what follows is data).
    """
    front: list[str] = []
    rest: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            rest.extend(argv[i:])
            break
        (front if arg in VERBOSITY_FLAGS else rest).append(arg)
    return front + rest


#: commands that keep no results a SIGTERM could leave behind (a server answers requests, it writes no run)
_NO_RESULTS = {"serve"}

#: an exception's class name at the start of a message or after ``: `` (``JudgeError: ...``, from a worker that
#: sent its failure as text): internal names, not words for the user
_CLASS_PREFIX = re.compile(r"(^|: )(?:[A-Z][a-z0-9]+)+(?:Error|Exception|Failure|Unavailable|Crash): ")


def user_message(message: str) -> str:
    """``message`` without internal class names, with a hint where the cause has an obvious remedy."""
    message = _CLASS_PREFIX.sub(r"\1", message)
    if "cannot reach http" in message and "base_url" not in message:
        message += "; start the OpenAI-compatible server (vLLM or SGLang) or set generator.base_url to one"
    return message


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(_hoist_verbosity(list(sys.argv[1:] if argv is None else argv)))
    if extra:
        # argparse stops collecting KEY=VALUE overrides at the first option; later overrides come back here
        options = [e for e in extra if e.startswith("-") or "=" not in e]
        if options or not hasattr(args, "overrides"):
            parser.error(f"unrecognized arguments: {' '.join(options or extra)}")
        args.overrides = [*args.overrides, *extra]
    setup_logging(args.verbose)
    if args.global_no_progress:
        args.no_progress = True
    progress.set_enabled(not getattr(args, "no_progress", False))
    progress.quiet_libraries()
    previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(args.func(args) or 0)
    except ProverError as exc:
        # CliError and any library error a handler did not translate: one line, never a traceback.
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"prover {args.command}: error: {user_message(message)}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        if _TERMINATED["hit"]:
            kept = "" if args.command in _NO_RESULTS else "; finished results are kept"
            print(f"prover {args.command}: terminated (SIGTERM){kept}", file=sys.stderr)
            return 143
        print(f"prover {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_term)


if __name__ == "__main__":
    sys.exit(main())
