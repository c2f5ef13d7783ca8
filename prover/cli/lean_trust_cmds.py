"""``prover lean check | world``: whole-proof verification and scripted worlds (parsing only; logic in prover.lean)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.cli.common import CliError, add_config_args, emit, load_config, print_config_if_asked

if TYPE_CHECKING:
    from prover.lean.types import Theorem, Verdict


def register(lean_sub: argparse._SubParsersAction) -> None:
    check = lean_sub.add_parser(
        "check",
        help="verify a whole proof: static soundness guard, then Lean (compile, no sorry, axioms, statement)",
        description="Verify PROOF (a tactic script or a full declaration) of STATEMENT. Prints "
        '{"accepted": bool, "reasons": [...]}; exit 0 when accepted, 1 when rejected. Lean runs through the '
        "configured backend (backend=repl by default; backend=scripted for a scripted world).",
    )
    check.add_argument(
        "--statement", required=True, help="the declaration without proof, e.g. 'theorem t : 1 = 1'"
    )
    proof = check.add_mutually_exclusive_group(required=True)
    proof.add_argument("--proof", help="the proof: a tactic script or the full declaration")
    proof.add_argument("--proof-file", help="read the proof from this file ('-' for stdin)")
    check.add_argument(
        "--header", default=None, help="imports/options/open lines (default: the backend's header)"
    )
    check.add_argument("--static", action="store_true", help="only the static guard; do not run Lean")
    add_config_args(check)
    check.set_defaults(func=_check)

    world = lean_sub.add_parser(
        "world",
        help="act as a Lean REPL whose proof states come from a scripted-world JSON file",
        description="A drop-in REPL process (JSON commands on stdin, blank-line-separated answers on stdout) "
        "answering from WORLD.json. With --validate, only load the file and print a summary.",
    )
    world.add_argument("world", metavar="WORLD.json")
    world.add_argument("--validate", action="store_true", help="check the file and print a JSON summary")
    world.set_defaults(func=_world)


def _read_proof(args: argparse.Namespace) -> str:
    if args.proof is not None:
        return str(args.proof)
    if args.proof_file == "-":
        return sys.stdin.read()
    path = Path(args.proof_file)
    if not path.is_file():
        raise CliError(f"--proof-file: no such file: {path}")
    return path.read_text(encoding="utf-8")


def _check(args: argparse.Namespace) -> int:
    from prover.lean.lexer import LexError, split_statement
    from prover.lean.types import Theorem
    from prover.lean.verify import verify_proof

    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    statement = args.statement.strip()
    if statement.endswith(":= by sorry") or statement.endswith(":= by") or statement.endswith(":="):
        statement = Theorem.from_formal_statement("statement", statement).statement
    try:
        parts = split_statement(statement)
    except (ValueError, LexError) as exc:
        raise CliError(f"--statement: {exc}") from exc
    backend = cfg.backend
    header = args.header if args.header is not None else str(backend.get("header", "import Mathlib\n"))
    theorem = Theorem(parts.name or "example", statement, header, source="cli")
    proof_text = _read_proof(args)
    guard = dict(backend.get("guard") or {})
    if args.static:
        verdict = verify_proof(theorem, proof_text, options=guard)
    else:
        verdict = _verify_with_lean(backend, theorem, proof_text)
    emit({**verdict.to_json(), "mode": "static" if args.static else f"lean:{backend.name}"})
    return 0 if verdict.accepted else 1


def _verify_with_lean(backend: Any, theorem: Theorem, proof_text: str) -> Verdict:
    from prover.lean.factory import LeanUnavailable, make_session, preflight

    try:
        preflight(backend)
    except LeanUnavailable as exc:
        raise CliError(f"{exc} (or check statically with --static)") from exc
    try:
        session = make_session(backend)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    with session:
        return session.verify(theorem, proof_text)


def _world(args: argparse.Namespace) -> int:
    from prover.lean.scripted_world import World, WorldError, serve

    try:
        world = World.load(args.world)
    except WorldError as exc:
        raise CliError(str(exc)) from exc
    if args.validate:
        transitions = sum(len(t) for t in world.goals.values())
        emit(
            {
                "world": args.world,
                "theorems": len(world.theorems),
                "goals": len(world.goals),
                "transitions": transitions,
                "valid": True,
            }
        )
        return 0
    return serve(world)
