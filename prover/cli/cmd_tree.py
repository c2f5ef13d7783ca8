"""``prover tree render TREE.json -o tree.svg``: draw a saved search graph (``SearchGraph.to_json()``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from prover.cli.common import CliError, emit


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tree", help="render a saved search tree")
    actions = parser.add_subparsers(dest="tree_command", metavar="ACTION", required=True)
    render = actions.add_parser("render", help="draw a search-graph JSON as SVG / PNG / PDF")
    render.add_argument(
        "tree", type=Path, help="search graph JSON (SearchGraph.to_json(), or a result with 'graph')"
    )
    render.add_argument("-o", "--output", type=Path, required=True, help="output file: .svg, .png or .pdf")
    render.add_argument(
        "--max-nodes",
        type=int,
        default=300,
        help="draw at most this many nodes (the proof path is always drawn)",
    )
    render.add_argument(
        "--all-failed",
        action="store_true",
        help="draw every failed tactic (default: merged into one leaf per state above 40 nodes)",
    )
    render.set_defaults(func=run_render)


def run_render(args: argparse.Namespace) -> int:
    from prover.search.graph import read_graph_file
    from prover.search.render import render

    if args.max_nodes < 1:
        raise CliError("--max-nodes must be >= 1")
    try:
        data = read_graph_file(args.tree)
        if "simulation" not in data:  # a tree saved before trees named their judge: the run's run.json says
            data = {**data, "simulation": _run_was_simulated(args.tree)}
        layout = render(
            data, args.output, max_nodes=args.max_nodes, collapse_failed=False if args.all_failed else None
        )
    except (ValueError, KeyError, TypeError) as exc:
        message = str(exc)
        raise CliError(message if str(args.tree) in message else f"{args.tree}: {message}") from exc
    emit(
        {
            "output": str(args.output),
            "nodes_drawn": len(layout.positions),
            "nodes_omitted": layout.omitted,
            "proof_steps": len(layout.proof_edges),
            "failed_merged": layout.collapsed,
        }
    )
    return 0


def _run_was_simulated(tree: Path) -> bool:
    """Whether the run that saved ``tree`` (``RUN/trees/NAME.json``) used a scripted world or a double."""
    from prover.evaluation.results import read_run_meta
    from prover.evaluation.versions import is_simulation

    return is_simulation(read_run_meta(tree.resolve().parent.parent))
