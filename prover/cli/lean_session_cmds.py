"""``prover lean run | record | replay``: drive the REPL client from transcripts (parsing only; logic in prover.lean)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from prover.cli.common import CliError, emit


def register(lean_sub: argparse._SubParsersAction) -> None:
    run = lean_sub.add_parser(
        "run",
        help="send the commands of a .in transcript through the REPL client; one JSON line per answer",
        description="Send each command of FILE.in (REPL transcript format) through the REPL client and print one "
        "JSON line per answer: index, kind, ok, env, proof_state, goals, sorries, errors, complete.",
    )
    run.add_argument("file", metavar="FILE.in", help="commands, blank-line separated (REPL test format)")
    run.add_argument(
        "--repl-cmd", help="REPL command line (split with shlex; default: backend=repl's command)"
    )
    run.add_argument("--cwd", help="directory to run the REPL in (default: backend=repl's project_dir)")
    run.add_argument("--timeout", type=float, default=None, help="seconds per command (default: backend's)")
    run.set_defaults(func=_run)

    rec = lean_sub.add_parser(
        "record",
        help="act as the REPL while tee-ing a real one into OUT.in / OUT.expected.out",
        description="A drop-in REPL process: forwards stdin to the real REPL and its answers to stdout, writing "
        "the conversation to OUT.in and OUT.expected.out (the REPL's own test format).",
    )
    rec.add_argument("--out", required=True, help="path prefix of the transcript files")
    rec.add_argument("--repl-cmd", help="REPL command line (default: backend=repl's command)")
    rec.add_argument("--cwd", help="directory to run the REPL in (default: backend=repl's project_dir)")
    rec.set_defaults(func=_record)

    rep = lean_sub.add_parser(
        "replay",
        help="act as a REPL answering from a recording (IN commands, OUT responses)",
        description="A drop-in REPL process answering the commands of IN with the responses of OUT, in order. "
        "Exit code 1 (message on stderr) on a command that differs from the recording or one too many.",
    )
    rep.add_argument("commands", metavar="IN")
    rep.add_argument("responses", metavar="OUT")
    rep.set_defaults(func=_replay)


def _repl_command(args: argparse.Namespace) -> tuple[list[str], str]:
    """argv and cwd: from --repl-cmd/--cwd, else from configs/backend/repl.yaml."""
    command: list[str] | None = None
    if args.repl_cmd:
        try:
            command = shlex.split(args.repl_cmd)
        except ValueError as exc:
            raise CliError(f"--repl-cmd: cannot split {args.repl_cmd!r}: {exc}") from exc
        if not command:
            raise CliError("--repl-cmd is empty")
    cwd = args.cwd
    if command is None or cwd is None:
        from prover.config import compose

        backend = compose(["backend=repl"]).backend
        command = command or [str(c) for c in backend.command]
        cwd = cwd or str(backend.project_dir)
    if not Path(cwd).is_dir():
        raise CliError(f"--cwd: not a directory: {cwd}")
    return command, cwd


def _run(args: argparse.Namespace) -> int:
    from prover.lean.protocol import ProtocolError, command_kind, parse_commands
    from prover.lean.repl_process import ReplFailure, ReplProcess, ReplStartError

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    try:
        commands = parse_commands(path.read_text(encoding="utf-8"), source=str(path))
    except (ProtocolError, UnicodeDecodeError) as exc:
        raise CliError(str(exc)) from exc
    if args.timeout is not None and args.timeout <= 0:
        raise CliError("--timeout must be positive")
    command, cwd = _repl_command(args)
    timeout = args.timeout or 300.0
    process = ReplProcess(command, cwd, timeout_s=timeout)
    failures = 0
    try:
        for index, cmd in enumerate(commands):
            kind = command_kind(cmd)
            try:
                resp = process.request(cmd)
            except ReplFailure as exc:
                if isinstance(exc, ReplStartError):
                    raise CliError(str(exc)) from exc
                failures += 1
                emit(
                    {
                        "index": index,
                        "kind": "error",
                        "ok": False,
                        "env": None,
                        "proof_state": None,
                        "goals": None,
                        "sorries": [],
                        "errors": [f"{type(exc).__name__}: {exc}"],
                        "complete": None,
                    }
                )
                continue
            emit(_response_record(index, kind, resp))
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped listening: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        process.kill()
    return 1 if failures else 0


def _response_record(index: int, kind: str, resp: Any) -> dict[str, Any]:
    if resp.message is not None:
        kind = "error"
    return {
        "index": index,
        "kind": kind,
        "ok": resp.ok,
        "env": resp.env,
        "proof_state": resp.proof_state,
        "goals": list(resp.goals) if resp.goals is not None else None,
        "sorries": [{"proof_state": s.proof_state, "goal": s.goal} for s in resp.sorries],
        "errors": list(resp.errors),
        "complete": resp.complete if kind == "tactic" else None,
    }


def _record(args: argparse.Namespace) -> int:
    from prover.lean.record import record

    command, cwd = _repl_command(args)
    try:
        return record(command, args.out, cwd=cwd)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc


def _replay(args: argparse.Namespace) -> int:
    from prover.lean.replay import main as replay_main

    return replay_main([args.commands, args.responses])
