"""``prover synth``: synthesise data: MUSTARD-style problems, Alchemy-style mutations (placeholder until the data-synthesis issue)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("synth", help="synthesise data: MUSTARD-style problems, Alchemy-style mutations")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("synth", "the data-synthesis issue"))
