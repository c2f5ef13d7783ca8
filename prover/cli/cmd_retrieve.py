"""``prover retrieve``: the top-k premises of an index for proof states, as JSON lines.

Parsing and printing only: states files are read by ``prover.jsonl``, the accessible-premise filter is
``prover.retrieval.accessible.accessible_filter``, retrieval is ``load_retriever(...).retrieve_batch``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prover.cli.common import CliError, emit, read_text_arg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "retrieve",
        help="retrieve premises for a proof state",
        description="Examples:\n  prover retrieve --index idx --state 'n : ℕ\\n⊢ n + 0 = n' -k 5\n"
        "  prover retrieve --index idx --states-file goals.txt --from-file Mathlib/Foo.lean --at 120:0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--index", required=True, help="index directory from `prover index build`")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--state", help="one proof state (goal text), or '-' to read it from stdin")
    what.add_argument("--states-file", help="JSON lines with a 'state' field each, or '-' for stdin")
    parser.add_argument("-k", type=int, default=10, help="premises per state (default 10)")
    parser.add_argument("--from-file", help="only premises accessible from this corpus file ...")
    parser.add_argument("--at", help="... at LINE:COL in it (default: the whole file)")
    parser.add_argument(
        "--imports", nargs="+", metavar="MODULE", help="only premises visible under `import MODULE ...`"
    )
    parser.add_argument("--device", default="cpu", help="encoder device for dense indexes")
    parser.set_defaults(func=run)


def _states(args: argparse.Namespace) -> list[str]:
    from prover.jsonl import BadLine, json_object_lines, json_object_stream

    if args.state is not None:
        return [read_text_arg(args.state, "--state")]  # '-' reads stdin, as `prover suggest --state -`
    if args.states_file == "-":
        lines = json_object_stream(sys.stdin.buffer, "<stdin>")
    elif Path(args.states_file).is_file():
        lines = json_object_lines(Path(args.states_file))
    else:
        raise CliError(f"states file {args.states_file} does not exist")
    states: list[str] = []
    for where, obj in lines:
        if isinstance(obj, BadLine):
            raise CliError(obj.describe())
        if not isinstance(obj.get("state"), str):
            raise CliError(f"{where}: expected an object with a string 'state'")
        states.append(obj["state"])
    return states


def run(args: argparse.Namespace) -> int:
    from prover.retrieval.accessible import accessible_filter
    from prover.retrieval.retriever import load_retriever

    if args.k < 1:
        raise CliError(f"-k must be at least 1, got {args.k}")
    if args.at and not args.from_file:
        raise CliError("--at needs --from-file")
    if args.from_file and args.imports:
        raise CliError("give --from-file or --imports, not both")
    position = _position(args.at) if args.at else None
    states = _states(args)
    retriever = load_retriever(args.index, device=args.device)
    accessible = accessible_filter(retriever.corpus, args.from_file, position, args.imports)
    results = retriever.retrieve_batch(states, args.k, accessible)
    for i, hits in enumerate(results):
        for rank, (premise, score) in enumerate(hits, start=1):
            emit(
                {
                    "state": i,
                    "rank": rank,
                    "score": round(score, 6),
                    "full_name": premise.full_name,
                    "path": premise.path,
                    "kind": premise.kind,
                    "code": premise.code,
                }
            )
    return 0


def _position(text: str) -> tuple[int, int]:
    try:
        line, col = (int(x) for x in text.split(":"))
    except ValueError as exc:
        raise CliError(f"--at must be LINE:COL, got {text!r}") from exc
    return line, col
