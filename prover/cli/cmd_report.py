"""``prover report``: write Markdown/HTML reports of a run directory (placeholder until issue 6: reports)."""

from __future__ import annotations

import argparse

from prover.cli.common import placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write Markdown/HTML reports of a run directory")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=placeholder("report", "issue 6: reports"))
