"""``prover tree``: render a saved search tree (placeholder until issue 4: search)."""

from __future__ import annotations

import argparse

from prover.cli.common import placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tree", help="render a saved search tree")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=placeholder("tree", "issue 4: search"))
