"""``prover index``: build a premise index (faiss or BM25) from a corpus (placeholder until issue 5: retrieval)."""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, placeholder


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("index", help="build a premise index (faiss or BM25) from a corpus")
    add_config_args(parser)
    parser.set_defaults(func=placeholder("index", "issue 5: retrieval"))
