"""``prover solve``: formal problem solving (FPS / D-FPS) with RPE answer checking (placeholder until the FPS issue)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("solve", help="formal problem solving (FPS / D-FPS) with RPE answer checking")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("solve", "the FPS issue"))
