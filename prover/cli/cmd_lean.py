"""``prover lean``: talk to Lean: run / record / replay REPL transcripts, check proofs, scripted worlds (placeholder until issue 3: Lean layer)."""

from __future__ import annotations

import argparse

from prover.cli.common import placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lean", help="talk to Lean: run / record / replay REPL transcripts, check proofs, scripted worlds")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=placeholder("lean", "issue 3: Lean layer"))
