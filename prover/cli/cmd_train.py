"""``prover train``: train a retriever or tactic generator (hydra-configured) (placeholder until the training issue)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train a retriever or tactic generator (hydra-configured)")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("train", "the training issue"))
