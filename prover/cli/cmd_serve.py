"""``prover serve``: serve tactic suggestions to the editor companion (placeholder until the editor-companion issue)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="serve tactic suggestions to the editor companion")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("serve", "the editor-companion issue"))
