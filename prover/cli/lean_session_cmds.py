"""``prover lean run | record | replay``: drive the REPL client from transcripts (parsing only; logic in prover.lean)."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prover.cli.common import CliError, emit

#: The most a file of commands or a proof given on the command line may hold (real ones are kilobytes).
MAX_INPUT_BYTES = 16 * 1024 * 1024


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
    run.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="backend overrides (backend=repl's settings): the REPL runs in the sandbox they ask for, as the "
        "search pool does (backend.sandbox=auto|bwrap|none, backend.sandbox_paths, backend.sandbox_limits)",
    )
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


def _backend_config(overrides: list[str]) -> Any:
    """``backend=repl``'s config with the user's ``backend.*`` overrides (one :class:`CliError` line when bad)."""
    from prover.cli.common import load_config

    bad = [o for o in overrides if not o.lstrip("+~").startswith("backend")]
    if bad:
        raise CliError(f"only backend overrides apply to 'prover lean run', not: {' '.join(bad)}")
    if not any(o.lstrip("+~").startswith("backend=") for o in overrides):
        overrides = ["backend=repl", *overrides]
    return load_config(argparse.Namespace(overrides=overrides)).backend


def _repl_command(args: argparse.Namespace, backend: Any = None) -> tuple[list[str], str]:
    """argv and cwd: from --repl-cmd/--cwd, else from ``backend`` (default: configs/backend/repl.yaml)."""
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
        if backend is None:
            from prover.config import compose

            backend = compose(["backend=repl"]).backend
        configured = backend.get("command")
        if isinstance(configured, str) or not configured:
            raise CliError(
                "backend.command must be a non-empty argv list, e.g. [lake,env,repl]; or use --repl-cmd"
            )
        command = command or [str(c) for c in configured]
        cwd = cwd or str(backend.get("project_dir", "."))
    if not Path(cwd).is_dir():
        raise CliError(f"--cwd: not a directory: {cwd}")
    _check_program(command[0], "--repl-cmd" if args.repl_cmd else "backend.command")
    return command, cwd


def _check_program(program: str, option: str) -> None:
    """A bare program name (``lake``) must be on PATH: one sentence now, not an errno from the first request."""
    if "/" in program or shutil.which(program) is not None:
        return
    if program in ("lake", "lean", "elan"):
        raise CliError(f"{option} needs '{program}' on PATH (Lean is not installed here); run `make lean`")
    raise CliError(f"{option}: '{program}' is not on PATH")


def _run(args: argparse.Namespace) -> int:
    from prover.lean.protocol import ProtocolError, command_kind, parse_commands
    from prover.lean.repl_process import ReplCrash, ReplFailure, ReplProcess, ReplStartError

    path = Path(args.file)
    text = read_user_text(path, "FILE.in")
    try:
        commands = parse_commands(text, source=str(path))
    except ProtocolError as exc:
        raise CliError(str(exc)) from exc
    for index, cmd in enumerate(commands):
        problem = _command_problem(cmd)
        if problem:
            raise CliError(f"{path}: command {index + 1}: {problem}")
    if args.timeout is not None and args.timeout <= 0:
        raise CliError("--timeout must be positive")
    backend = _backend_config(list(getattr(args, "overrides", None) or []))
    command, cwd = _repl_command(args, backend)
    timeout = args.timeout or 300.0
    named = [Path(a) for a in command[1:]] if args.repl_cmd else []
    sandbox = _sandbox(backend, cwd, [p for p in named if p.is_file()])
    extra_env = backend.get("env") or None  # as the pool: inside a sandbox its allow-list has them already
    env = {**os.environ, **{str(k): str(v) for k, v in extra_env.items()}} if extra_env else None
    process = ReplProcess(
        command, cwd, timeout_s=timeout, sandbox=sandbox, env=None if sandbox.mode != "none" else env
    )
    failures = 0
    try:
        for index, cmd in enumerate(commands):
            kind = command_kind(cmd)
            try:
                resp = process.request(cmd)
            except ReplFailure as exc:
                if isinstance(exc, ReplStartError):
                    raise CliError(str(exc)) from exc
                if index == 0 and isinstance(
                    exc, ReplCrash
                ):  # it never answered: a start failure, one sentence
                    raise CliError(f"the REPL exited before its first answer: {exc}") from exc
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


def _sandbox(backend: Any, cwd: str, files: list[Path]) -> Any:
    """The sandbox the search pool would use for these backend settings (``prover.lean.sandbox``): the project
    (here ``cwd``) and ``backend.sandbox_paths`` read-only, ``backend.sandbox_limits``, the backend's ``env``;
    also read-only the ``files`` the user's own ``--repl-cmd`` names (as the scripted pool binds its world file).
    Nothing starts Lean outside it; ``backend.sandbox=none`` is said on stderr."""
    from prover.cli.common import EnvironmentFailure
    from prover.errors import ConfigError
    from prover.lean.judge import judge_sandbox
    from prover.lean.sandbox import SandboxUnavailable

    try:
        sandbox = judge_sandbox(backend, [Path(cwd), *files])
    except SandboxUnavailable as exc:
        raise EnvironmentFailure(str(exc)) from None
    except (ConfigError, ValueError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    if sandbox.mode == "none":
        print("prover lean run: backend.sandbox=none: the REPL runs without a sandbox", file=sys.stderr)
    return sandbox


def read_user_text(path: Path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """A file named on the command line, as UTF-8 text; every problem is one :class:`CliError` line.

    Only regular files are opened (a FIFO or ``/dev/zero`` would block or never end), at most ``limit``
    bytes are read, and a non-UTF-8 byte is named by line and byte offset.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CliError(f"{what}: no such file: {path}") from None
    except OSError as exc:
        raise CliError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CliError(f"{what}: {path} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise CliError(f"{what}: {path} is not a regular file (a FIFO or device); give a file")
    if info.st_size > limit:
        raise CliError(f"{what}: {path} is larger than {limit // 2**20} MiB")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise CliError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise CliError(f"{what}: {path} is larger than {limit // 2**20} MiB")
    return decode_user_bytes(data, f"{what} {path}")


def decode_user_bytes(data: bytes, label: str) -> str:
    """UTF-8 text, or one :class:`CliError` naming ``label``, the line and the byte offset of the bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CliError(f"{label}: not UTF-8 at byte {exc.start} (line {line}: {exc.reason})") from None


def _command_problem(cmd: Mapping[str, Any]) -> str:
    """What is wrong with a transcript command's shape (``""`` when it is a REPL command)."""
    from prover.lean.protocol import PICKLE_KEYS

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if "tactic" in cmd:
        if not isinstance(cmd["tactic"], str) or not is_int(cmd.get("proofState")):
            return "a tactic command needs 'tactic' (text) and 'proofState' (an integer)"
    elif "cmd" in cmd:
        if not isinstance(cmd["cmd"], str) or ("env" in cmd and not is_int(cmd["env"])):
            return "'cmd' must be text and 'env', when given, an integer"
    elif any(k in cmd for k in PICKLE_KEYS):
        if not all(isinstance(cmd[k], str) for k in PICKLE_KEYS if k in cmd):
            return "pickle file names must be text"
    elif "path" in cmd:
        if not isinstance(cmd["path"], str):
            return "'path' must be text"
    else:
        keys = ", ".join(sorted(cmd)) or "none"
        return f"not a REPL command (needs 'cmd', 'tactic', 'path' or a pickle key; has {keys})"
    return ""


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
    from prover.lean.doubles.record import record

    command, cwd = _repl_command(args)
    try:
        return record(command, args.out, cwd=cwd)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc


def _replay(args: argparse.Namespace) -> int:
    from prover.lean.doubles.replay import main as replay_main

    return replay_main([args.commands, args.responses])
