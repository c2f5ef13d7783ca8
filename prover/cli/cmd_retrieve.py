"""``prover retrieve``: retrieve premises for a proof state (placeholder until issue 5: retrieval)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("retrieve", help="retrieve premises for a proof state")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("retrieve", "issue 5: retrieval"))
