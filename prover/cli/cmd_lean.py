"""``prover lean``: talk to Lean directly.

Two modules register its subcommands: ``lean_session_cmds`` (run, record, replay — the REPL client side)
and ``lean_trust_cmds`` (check, world — verification and scripted worlds).
"""

from __future__ import annotations

import argparse
import importlib


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "lean", help="talk to Lean: run/record/replay REPL transcripts, check proofs, worlds"
    )
    lean_sub = parser.add_subparsers(dest="lean_command", metavar="LEAN_COMMAND", required=True)
    for module in ("prover.cli.lean_session_cmds", "prover.cli.lean_trust_cmds"):
        try:
            importlib.import_module(module).register(lean_sub)
        except ModuleNotFoundError as exc:  # a half-built tree must still show --help
            if exc.name != module:
                raise
