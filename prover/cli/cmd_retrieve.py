"""``prover retrieve``: the top-k premises of an index for proof states, as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prover.cli.common import CliError, emit


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
    what.add_argument("--state", help="one proof state (goal text)")
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
    if args.state is not None:
        return [args.state]
    handle = sys.stdin if args.states_file == "-" else None
    if handle is None and not Path(args.states_file).is_file():
        raise CliError(f"states file {args.states_file} does not exist")
    states: list[str] = []
    with handle or open(args.states_file, encoding="utf-8", errors="strict") as f:
        try:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CliError(f"{args.states_file}:{number}: not JSON: {exc.msg}") from exc
                if not isinstance(obj, dict) or not isinstance(obj.get("state"), str):
                    raise CliError(f"{args.states_file}:{number}: expected an object with a string 'state'")
                states.append(obj["state"])
        except UnicodeDecodeError as exc:
            raise CliError(f"{args.states_file}: not UTF-8") from exc
    return states


def run(args: argparse.Namespace) -> int:
    from prover.retrieval.accessible import Accessibility, AccessibilityError
    from prover.retrieval.corpus import CorpusError
    from prover.retrieval.encoder import EncoderError
    from prover.retrieval.index import PremiseIndexError
    from prover.retrieval.retriever import RetrievalError, load_retriever

    if args.k < 1:
        raise CliError(f"-k must be at least 1, got {args.k}")
    if args.at and not args.from_file:
        raise CliError("--at needs --from-file")
    states = _states(args)
    try:
        retriever = load_retriever(args.index, device=args.device)
        accessible = None
        if args.from_file or args.imports:
            access = Accessibility(retriever.corpus)
            if args.from_file:
                accessible = access.accessible(args.from_file, _position(args.at) if args.at else None)
            else:
                accessible = access.accessible_from_modules(args.imports)
        results = retriever.retrieve_batch(states, args.k, accessible)
    except (PremiseIndexError, CorpusError, EncoderError, RetrievalError, AccessibilityError) as exc:
        raise CliError(str(exc)) from exc
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
