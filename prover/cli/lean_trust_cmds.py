"""``prover lean check | world``: whole-proof verification and scripted worlds (parsing only; logic in prover.lean)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.cli.common import (
    CliError,
    EnvironmentFailure,
    add_config_args,
    emit,
    load_config,
    print_config_if_asked,
)

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
    from prover.cli.lean_session_cmds import MAX_INPUT_BYTES, decode_user_bytes, read_user_text

    if args.proof is not None:
        text = _utf8("--proof", str(args.proof))
        where = "--proof"
    elif args.proof_file == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise CliError(f"--proof-file -: more than {MAX_INPUT_BYTES // 2**20} MiB on stdin")
        text = decode_user_bytes(data, "--proof-file - (stdin)")
        where = "--proof-file -"
    else:
        text = read_user_text(Path(args.proof_file), "--proof-file")
        where = f"--proof-file {args.proof_file}"
    if not text.strip():
        raise CliError(f"{where}: the proof is empty")
    return text


def _utf8(option: str, text: str) -> str:
    """Command-line text as Lean will get it: bytes that are not UTF-8 arrive as surrogates and are refused."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CliError(f"{option}: not UTF-8 (at character {exc.start})") from None
    return text


def _statement(raw: str) -> tuple[str, str]:
    """``(statement, name)`` from ``--statement``: a declaration head, optionally ending ``:= by sorry``."""
    from prover.lean.source import SourceError, split_proof
    from prover.lean.statement import split_statement

    statement = _utf8("--statement", raw).strip()
    if not statement:
        raise CliError("--statement is empty; give a declaration such as 'theorem t : 1 = 1'")
    try:
        split = split_proof(statement)
    except SourceError as exc:
        raise CliError(f"--statement: {exc}") from None
    if split is not None:
        if not split.is_open:
            raise CliError(
                "--statement must be the declaration without its proof; give the proof with --proof"
            )
        statement = split.statement
        if not statement:
            raise CliError(
                "--statement has nothing before ':='; give a declaration such as 'theorem t : 1 = 1'"
            )
    try:
        parts = split_statement(statement)
    except ValueError as exc:  # LexError is a ValueError
        raise CliError(f"--statement: {exc}") from None
    return statement, parts.name


def _check(args: argparse.Namespace) -> int:
    from prover.lean.factory import check_backend_config
    from prover.lean.types import Theorem
    from prover.lean.verify import verify_proof

    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    statement, name = _statement(args.statement)
    backend = cfg.backend
    try:
        backend_cfg = check_backend_config(backend)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    header = args.header if args.header is not None else str(backend_cfg.get("header", "import Mathlib\n"))
    theorem = Theorem(name or "example", statement, _utf8("--header", header), source="cli")
    proof_text = _read_proof(args)
    guard = dict(backend_cfg.get("guard") or {})
    refused = _statement_refusals(statement, guard)
    if refused is not None:
        verdict = refused
    elif args.static:
        try:
            verdict = verify_proof(theorem, proof_text, options=guard)
        except ValueError as exc:  # e.g. an unknown backend.guard option
            raise CliError(str(exc)) from None
    else:
        verdict = _verify_with_lean(cfg.get("verify"), backend_cfg, theorem, proof_text)
    emit({**verdict.to_json(), "mode": "static" if args.static else f"lean:{backend_cfg['name']}"})
    return 0 if verdict.accepted else 1


def _statement_refusals(statement: str, guard: dict[str, Any]) -> Verdict | None:
    """The guard's verdict on ``--statement`` itself (issue 19: ``eval%``, ``unsafe…`` or ``@[implemented_by]`` in
    it passed ``--static``): elaborating the statement runs it. Attributes and modifiers that add no trust are fine
    (``check_statement`` with ``model_written=False``). None when it may be elaborated."""
    from prover.lean.guard import check_statement
    from prover.lean.types import Verdict

    try:
        result = check_statement(statement, guard, model_written=False)
    except ValueError as exc:  # an unknown backend.guard option
        raise CliError(str(exc)) from None
    if result.accepted:
        return None
    return Verdict(False, tuple(f"statement refused: {r}" for r in result.reasons), "guard")


def _verify_with_lean(verify: Any, backend: Any, theorem: Theorem, proof_text: str) -> Verdict:
    """The configured judge's verdict (``prover.lean.judge``: comparator, a fresh sandboxed REPL, or the scripted
    world as simulation), never a search session's answer: the REPL's stdout is a hint, not a verdict. Every judge
    runs the static pre-filter first (``verify_proof``/``build_task``), so a refused proof never reaches Lean."""
    from prover.errors import ProverError
    from prover.lean.factory import LeanUnavailable, preflight
    from prover.lean.judge import make_judge

    try:
        preflight(backend)
    except LeanUnavailable as exc:
        # a scripted world is a file the user named (input: exit 2); a missing toolchain is the machine (exit 1)
        failure = CliError if backend.get("name") == "scripted" else EnvironmentFailure
        raise failure(f"{exc} (or check statically with --static)") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        judge = make_judge(verify, backend)
    except (ValueError, ProverError) as exc:
        raise CliError(str(exc)) from None
    try:
        return judge.judge(theorem, proof_text)
    finally:
        judge.close()


def _world(args: argparse.Namespace) -> int:
    from prover.cli.lean_session_cmds import read_user_text
    from prover.lean.doubles.server import serve
    from prover.lean.doubles.world import World, WorldError

    read_user_text(Path(args.world), "WORLD.json")  # a FIFO, device or directory is refused before loading
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
