"""``prover data``: list, fetch and check benchmarks and corpora from the manifest (placeholder until issue 6: benchmarks)."""

from __future__ import annotations

import argparse

from prover.cli.common import placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="list, fetch and check benchmarks and corpora from the manifest")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=placeholder("data", "issue 6: benchmarks"))
