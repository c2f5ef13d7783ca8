"""``prover prove``: prove a benchmark with search or whole-proof sampling (placeholder until issue 6: prover prove)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("prove", help="prove a benchmark with search or whole-proof sampling")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("prove", "issue 6: prover prove"))
