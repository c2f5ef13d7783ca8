"""The one judge that decides "proved": ``comparator``, ``repl`` or ``simulation``.

Why a judge apart from the session: elaborating model text is running model code (``(config := …)`` values,
``simproc_decl``, ``eval%`` …), and a REPL process that ran it can print any answer frame it likes on its
stdout. The search's REPL answers are therefore hints; a proof counts only when a judge accepts it, and every
``Verdict`` a judge returns names it (``Verdict.judge``).

- ``comparator`` (``prover.lean.comparator``): the Lean FRO's comparator builds the trusted ``Challenge`` and the
  model's ``Solution`` in its landrun sandbox, exports both with lean4export, compares the statements and the
  axioms and replays the solution in the kernel, all outside the process that ran model code. The strongest.
- ``repl``: for users without comparator. A FRESH REPL process per check (never the search pool, whose env
  the model's text may have altered), a fixed trusted header with a finite ``maxHeartbeats``, the checks of
  ``prover.lean.verify`` and a strict transcript: exactly the expected answers, in order, no extra bytes, and a
  live process that answers a follow-up carrying a nonce. It cannot rule out code inside Lean that takes over
  the process (README "Trust model").
- ``simulation``: a scripted world (no Lean) is its own judge; reports say so.

Everything fails closed: a timeout, a crash, empty or unparsable output, a missing report line is "not proved"
with the reason. ``make_judge(settings, backend_cfg)`` builds the configured one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field, PositiveFloat, PositiveInt

from prover.config import as_plain_dict
from prover.errors import ConfigError
from prover.lean.comparator import (
    ComparatorInputError,
    ComparatorOutcome,
    build_task,
    read_outcome,
    write_workspace,
)
from prover.lean.errors import LeanError
from prover.lean.guard import GuardOptions
from prover.lean.lexer import LexError, code_tokens
from prover.lean.protocol import FrameBuffer, ProtocolError, Response, encode_command
from prover.lean.sandbox import Sandbox, SandboxLimits, kill_and_reap, make_sandbox
from prover.lean.source import SourceError
from prover.lean.types import Theorem, Verdict
from prover.settings import Settings, load_settings

JUDGES = ("comparator", "repl", "simulation")
#: The REPL command for backends that do not name one (``dojo``): the project's own build of the REPL.
DEFAULT_REPL_COMMAND = ("lake", "env", ".lake/packages/REPL/.lake/build/bin/repl")
_READ_CHUNK = 1 << 16


class JudgeError(LeanError):
    """The judge cannot be built as configured (a missing comparator, a judge that does not fit the backend)."""


class ComparatorSettings(Settings):
    """``verify.comparator``: where ``make lean`` put comparator and its helpers (relative to the project)."""

    #: argv that runs comparator in the per-check workspace; the config path is appended (comparator's
    #: ``main``: "Expected config file path as first argument"). ``lake env`` gives it the project's LEAN_PATH.
    command: list[str] = Field(
        default_factory=lambda: ["lake", "env", ".lake/tools/comparator/.lake/build/bin/comparator"],
        min_length=1,
    )
    #: passed as ``COMPARATOR_LEAN4EXPORT`` and first on PATH (``pre-v25`` reads only PATH); "" : the command's own
    lean4export: str = ".lake/tools/comparator/.lake/packages/lean4export/.lake/build/bin/lean4export"
    #: passed as ``COMPARATOR_LANDRUN`` and first on PATH (``pre-v25`` reads only PATH); "" : the command's own
    landrun: str = ".lake/tools/bin/landrun"
    #: reject when comparator writes no ``json_output_path`` report (only comparator's unmerged pull request #50
    #: writes one; released builds ignore the key, and then the exit status and the final
    #: "Your solution is okay!" line decide)
    require_report: bool = False
    #: where per-check workspaces are made (null: the system's temporary directory)
    workdir: str | None = None
    #: keep each workspace after the check (debugging)
    keep_workdir: bool = False


class JudgeSettings(Settings):
    """The ``verify`` config group (configs/verify/default.yaml mirrors these defaults)."""

    #: ``auto``: comparator where it is installed, else the repl judge; a scripted world is its own judge
    judge: Literal["auto", "comparator", "repl", "simulation"] = "auto"
    #: wall clock for one judged proof (comparator builds both sides; the repl judge imports the header)
    timeout_s: PositiveFloat = 900.0
    #: the trusted header's ``maxHeartbeats``; model text may not set a larger (or an unlimited, 0) one
    max_heartbeats: PositiveInt = 400000
    #: the repl judge's REPL argv (null: the backend's own command)
    repl_command: list[str] | None = None
    comparator: ComparatorSettings = Field(default_factory=ComparatorSettings)


@runtime_checkable
class Judge(Protocol):
    """Decides "proved"; ``name`` is ``comparator``, ``repl`` or ``simulation`` and is on every verdict."""

    name: str

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Verdict: ...

    def close(self) -> None: ...


@runtime_checkable
class CommandJudge(Protocol):
    """A judge that also decides whether one COMMAND elaborates cleanly (no error, no ``sorry``), in its own
    process model: FPS's RPE check (``prover.fps.check``), which is a command, not a proof of a theorem.

    ``header`` is trusted (the dataset's imports and ``open`` lines); ``command`` is built by our code, and any
    model text in it must have passed the caller's pre-filter (FPS: ``submission_problems``). Every judge of
    :data:`JUDGES` has it; comparator's is its repl fallback (comparator checks theorems, not commands)."""

    name: str

    def check_command(self, header: str, command: str, *, timeout_s: float | None = None) -> Verdict: ...


def judge_settings(cfg: Any) -> JudgeSettings:
    """The ``verify`` group (a hydra node, a mapping, ``None`` for defaults, or the model) as its typed model."""
    return load_settings(JudgeSettings, cfg, "verify")


def make_judge(settings: Any, backend_cfg: Any) -> Judge:
    """The judge that ``settings.judge`` names for the backend ``backend_cfg``.

    ``auto``: a scripted world is its own judge (``simulation``); otherwise comparator when its command,
    lean4export and landrun are installed, else ``repl``. Raises ``ConfigError``/``JudgeError`` with one
    sentence when the named judge cannot work here.
    """
    from prover.lean.factory import ScriptedSettings, load_backend_settings, world_path

    verify = judge_settings(settings)
    backend = load_backend_settings(backend_cfg)
    guard = GuardOptions.from_config(getattr(backend, "guard", None))
    project = Path(getattr(backend, "project_dir", Path.cwd())).resolve()
    kind = verify.judge
    if kind == "auto":
        if isinstance(backend, ScriptedSettings):
            kind = "simulation"
        elif comparator_missing(verify.comparator, project) is None:
            kind = "comparator"
        else:
            kind = "repl"
    if kind == "simulation":
        if not isinstance(backend, ScriptedSettings):
            raise ConfigError(
                "verify.judge=simulation needs backend=scripted (a scripted world is its own judge); "
                "with Lean use verify.judge=comparator or verify.judge=repl"
            )
        return SimulationJudge(world_path(backend.world), guard, backend.tactic_timeout_s, backend.real_sleep)
    if kind == "comparator":
        missing = comparator_missing(verify.comparator, project)
        if missing:
            # verify.judge=repl is an alternative only where Lean itself is installed (it needs lake too)
            alternative = " or use verify.judge=repl" if shutil.which("lake") else ""
            raise JudgeError(
                f"verify.judge=comparator: {missing}; run `make lean` (builds comparator, lean4export and "
                f"landrun){alternative}"
            )
        # commands (FPS RPE) are not comparator checks: the repl judge checks them (README "Trust model")
        fallback = _repl_judge(verify, backend, backend_cfg, project, guard)
        return ComparatorJudge(
            verify, project, guard, judge_sandbox(backend_cfg, [project]), command_judge=fallback
        )
    return _repl_judge(verify, backend, backend_cfg, project, guard)


def _repl_judge(
    verify: JudgeSettings, backend: Any, backend_cfg: Any, project: Path, guard: GuardOptions
) -> ReplJudge:
    """The repl judge: the backend's REPL command (``verify.repl_command`` first), started fresh per check."""
    from prover.lean.factory import ScriptedSettings, world_path
    from prover.lean.repl_backend import ReplConfig

    readable: list[Path] = []
    if verify.repl_command is not None:
        command, cwd = list(verify.repl_command), project
    elif isinstance(backend, ScriptedSettings):
        world = world_path(backend.world).resolve()
        command = [sys.executable, "-m", "prover.lean.doubles.server", str(world)]
        cwd = Path.cwd()
        readable.append(world)  # as the scripted pool binds it (prover.lean.factory)
    elif isinstance(backend, ReplConfig):
        command, cwd = list(backend.command), project
    else:
        command, cwd = list(DEFAULT_REPL_COMMAND), project
    if not command:
        raise ConfigError("verify.repl_command must be a non-empty argv list")
    sandbox = judge_sandbox(backend_cfg, [project, cwd, *readable])
    return ReplJudge(command, cwd, verify, guard, sandbox=sandbox)


def resolve_tool(path_or_name: str, project: Path) -> str | None:
    """An executable given as a path (relative to the project) or a name on PATH; None when absent."""
    if not path_or_name:
        return None
    if "/" in path_or_name:
        path = Path(path_or_name)
        path = path if path.is_absolute() else project / path
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(path_or_name)


def comparator_missing(settings: ComparatorSettings, project: Path) -> str | None:
    """What of comparator's installation is missing (one phrase), or None when everything is there."""
    command = settings.command
    exe = command[2] if command[:2] == ["lake", "env"] and len(command) > 2 else command[0]
    if command[:2] == ["lake", "env"] and shutil.which("lake") is None:
        return "'lake' is not on PATH"
    if resolve_tool(exe, project) is None:
        return f"the comparator executable {exe!r} is not installed"
    for what, tool in (("lean4export", settings.lean4export), ("landrun", settings.landrun)):
        if tool and resolve_tool(tool, project) is None:
            return f"{what} ({tool!r}) is not installed"
    return None


# --- simulation -------------------------------------------------------------------------------------
class SimulationJudge:
    """A scripted world judges its own proofs (no Lean anywhere): every verdict says ``simulation``.

    The world's in-process session runs the same checks as ``prover.lean.verify`` against the world's
    semantics, on a session of its own (never the search's).

    Thread-safe without a lock (serve judges from several threads): each check runs on a world server of
    its own (``WorldSession.command_runner`` builds one per call), the world itself is only read, and the
    guard options are frozen; ``tests/test_judge_threads.py`` checks concurrent verdicts.
    """

    name = "simulation"

    def __init__(
        self, world: Path, guard: GuardOptions, tactic_timeout_s: float = 2.0, real_sleep: bool = True
    ) -> None:
        from prover.lean.doubles.session import WorldSession

        self.guard = guard
        # the backend's own step timeout: a proof the search ran within it must not time out here
        self._session = WorldSession(
            world, guard=guard, tactic_timeout_s=tactic_timeout_s, real_sleep=real_sleep
        )

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Verdict:
        if definition_names:
            # holes: comparator's contract (a value for every hole, no `sorry`, nothing else declared, the
            # pre-filter on every value), then the world replays the theorem's own proof
            try:
                task = build_task(theorem, proof, definition_names, self.guard)
            except (ComparatorInputError, SourceError, ValueError) as exc:
                return _verdict(False, f"cannot read the hole definitions: {exc}", "guard", self.name)
            if isinstance(task, list):
                return Verdict(False, tuple(task), "guard", judge=self.name)
            wrong = self._world_refuses_values(task.solution, task.definition_names)
            if wrong:
                return Verdict(False, tuple(wrong), "compile", judge=self.name)
            proof = task.proof
        try:
            verdict = self._session.verify(theorem, proof)
        except Exception as exc:  # fail closed
            return _verdict(
                False, f"the scripted world failed: {type(exc).__name__}: {exc}", "judge", self.name
            )
        return _named(verdict, self.name)

    def _world_refuses_values(self, solution: str, holes: Sequence[str]) -> list[str]:
        """The world's errors for the hole values: a world can name right and wrong answers with canned
        ``commands`` (``contains: "NAME : T := 6"``, errors or none); a value it says nothing about passes on
        the text contract alone (a world without Lean cannot elaborate a definition)."""
        from prover.lean.source import split_commands

        _, commands = split_commands(solution)
        reasons: list[str] = []
        for command in commands:
            if command.name not in holes:
                continue
            canned = self._session.world.scripted_command(command.text)
            errors = [m.data for m in canned.messages if m.severity == "error"] if canned else []
            reasons += [f"{command.name}: {e}" for e in errors]
        return reasons

    def check_command(self, header: str, command: str, *, timeout_s: float | None = None) -> Verdict:
        """The world elaborates ``command`` on ``header``'s env, on the judge's own session (a fresh world
        server per call, never the search's): accepted when it answers without error or ``sorry``."""
        from prover.lean.verify import compile_reasons

        try:
            response = self._session.command_runner(header)(command)
        except Exception as exc:  # fail closed: a timeout or crash of the world is a rejection
            return _verdict(
                False, f"the scripted world failed: {type(exc).__name__}: {exc}", "judge", self.name
            )
        reasons = compile_reasons(response)
        return Verdict(not reasons, tuple(reasons), "compile" if reasons else "", judge=self.name)

    def close(self) -> None:
        self._session.close()


def _named(verdict: Verdict, judge: str) -> Verdict:
    """``verdict`` as decided by ``judge`` (its diagnostics kept for repair turns)."""
    return dataclasses.replace(verdict, judge=judge)


def _verdict(accepted: bool, reason: str, check: str, judge: str) -> Verdict:
    return Verdict(accepted, (reason,) if reason else (), "" if accepted else check, judge=judge)


# --- process launch (always through the sandbox) -----------------------------------------------------
def judge_sandbox(backend_cfg: Any, read_only: Sequence[Path] = ()) -> Sandbox:
    """The sandbox the backend config asks for (``backend.sandbox``, ``backend.sandbox_limits``; read-only:
    ``read_only`` plus ``backend.sandbox_paths``, as the search pool's), for judged processes; raises
    ``SandboxUnavailable`` (one sentence: install bubblewrap or say ``none``) when it cannot."""
    try:
        data = as_plain_dict(backend_cfg, "backend config")
    except ValueError:
        data = {}
    mode = data.get("sandbox") or "auto"
    if mode not in ("auto", "bwrap", "none"):
        raise ConfigError(f"backend.sandbox must be auto, bwrap or none, not {mode!r}")
    limits = load_settings(SandboxLimits, data.get("sandbox_limits"), "backend.sandbox_limits")
    extra_paths = data.get("sandbox_paths") or []
    if isinstance(extra_paths, str) or not isinstance(extra_paths, Sequence):
        raise ConfigError("backend.sandbox_paths must be a list of paths")
    # the judge reads what the backend's pool reads (``ReplSession``: project_dir plus backend.sandbox_paths)
    read_only = [*read_only, *(Path(str(p)) for p in extra_paths)]
    max_rss = data.get("max_rss_mb")
    extra_env = data.get("env") if isinstance(data.get("env"), Mapping) else None
    return make_sandbox(
        mode,  # type: ignore[arg-type]  # checked above
        limits,
        max_rss_mb=float(max_rss) if isinstance(max_rss, int | float) and max_rss else None,
        read_only=read_only,
        env={str(k): str(v) for k, v in (extra_env or {}).items()},
    )


def launch(
    argv: Sequence[str],
    *,
    cwd: Path,
    sandbox: Sandbox,
    env: Mapping[str, str] | None = None,
    writable: Sequence[Path] = (),
    stdin: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start one judged process in a sandbox of its own (a fresh PID namespace with bwrap), in its own session.

    argv lists only (never a shell). ``env`` adds variables inside the sandbox (with ``none``: to ours);
    ``writable`` paths are bound read-write (a judge's workspace), everything else stays read-only.
    """
    box = dataclasses.replace(
        sandbox,
        env={**sandbox.env, **(env or {})},
        writable=(*sandbox.writable, *(Path(p) for p in writable)),
    )
    plain_env = {**os.environ, **(env or {})} if box.mode == "none" and env else None
    return box.popen(
        list(argv), cwd, env=plain_env, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, bufsize=0
    )


# --- the repl judge ---------------------------------------------------------------------------------
class TranscriptError(LeanError):
    """The judged REPL's stdout was not exactly the expected answers: a forged or extra frame, a crash."""


class StrictRepl:
    """One fresh REPL process read strictly: each command gets exactly one answer frame and nothing more.

    Code running inside Lean can write to the same stdout as the REPL. A frame printed by it arrives before
    (or instead of) the REPL's own; the REPL's real answer then shows up as extra bytes, an env id out of
    sequence (the REPL numbers envs 0, 1, 2, … in ``recordCommandSnapshot``, ``REPL/Main.lean``) or a
    missing answer to the follow-up. Any of these raises :class:`TranscriptError`, which the judge turns into
    a rejection. Usable as ``verify_proof``'s ``run_command``: ``env=None`` means the trusted header's env.
    """

    def __init__(
        self,
        command: Sequence[str],
        cwd: Path,
        *,
        header: str,
        deadline: float,
        sandbox: Sandbox,
    ) -> None:
        self.deadline = deadline
        self.frames = FrameBuffer()
        self.next_env = 0
        self.eof = False
        self.proc = launch(command, cwd=cwd, sandbox=sandbox)
        os.set_blocking(self.proc.stdout.fileno(), False)  # type: ignore[union-attr]
        answer = self.send(header, None)
        if answer.message is not None or any(m.is_error for m in answer.messages) or answer.env is None:
            raise TranscriptError(f"the trusted header does not elaborate: {answer.errors or answer.raw}")
        self.header_env = answer.env

    def __call__(self, command: str, env: int | None = None) -> Response:
        return self.send(command, self.header_env if env is None else env)

    def send(self, command: str, env: int | None) -> Response:
        """Write one command, read exactly its one answer; refuse any byte that arrived uninvited."""
        stray = self._read(0.0)
        if self.eof or self.proc.poll() is not None:
            raise TranscriptError(f"the REPL exited (code {self.proc.poll()}) before the next command")
        if stray.strip() or self.frames.pending.strip():
            raise TranscriptError(f"the REPL printed output no command asked for: {_clip(stray)}")
        payload: dict[str, Any] = {"cmd": command}
        if env is not None:
            payload["env"] = env
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(encode_command(payload))
        except (BrokenPipeError, OSError) as exc:
            raise TranscriptError(f"the REPL's stdin closed: {exc}") from None
        frames: list[str] = []
        while not frames:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the REPL judge ran out of time")
            data = self._read(remaining)
            if not data:
                if self.eof:
                    code = self.proc.wait(timeout=5)
                    raise TranscriptError(f"the REPL exited (code {code}) without an answer")
                continue
            frames = self.frames.feed(data)
        if len(frames) > 1 or self.frames.pending.strip():
            raise TranscriptError(
                f"the REPL printed more than one answer to one command: {_clip(frames[-1])}"
            )
        try:
            response = Response.parse(frames[0])
        except ProtocolError as exc:
            raise TranscriptError(f"the REPL's answer is not the protocol: {exc}") from None
        if response.env is not None:
            if response.env != self.next_env:
                raise TranscriptError(
                    f"an answer carries env {response.env} where the REPL's next env is {self.next_env}: "
                    "not the REPL's own answer"
                )
            self.next_env += 1
        return response

    def _read(self, timeout: float) -> bytes:
        """Whatever stdout has within ``timeout`` (b"" when nothing came); sets ``eof`` at end of output."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        out = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            wait = timeout
            while not self.eof and sel.select(wait):
                try:
                    data = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    break
                if not data:
                    self.eof = True
                    break
                out += data
                wait = 0.0
        return bytes(out)

    def finish(self, nonce: str, grace_s: float = 10.0) -> None:
        """The follow-up: the process must still be alive, answer a command carrying a fresh nonce with exactly
        that nonce (Lean's ``#print "text"`` logs the text as one info message), then exit 0 at end of input
        without printing another byte."""
        answer = self.send(f'#print "{nonce}"', self.header_env)
        printed = [m.data.strip() for m in answer.messages]
        if answer.message is not None or printed != [nonce] or answer.messages[0].severity != "info":
            raise TranscriptError("the REPL did not answer the follow-up with its nonce")
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        tail = bytearray()
        end = min(self.deadline, time.monotonic() + grace_s)
        while not self.eof:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise TranscriptError("the REPL did not close its output at the end of its input")
            tail += self._read(remaining)
        if tail.strip() or self.frames.pending.strip():
            raise TranscriptError(f"the REPL printed output after its last answer: {_clip(bytes(tail))}")
        try:
            code = self.proc.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TranscriptError("the REPL did not exit at the end of its input") from None
        if code != 0:
            raise TranscriptError(f"the REPL exited with code {code} after the check")

    def close(self) -> None:
        kill_and_reap(self.proc)


class ReplJudge:
    """The repl judge: ``prover.lean.verify`` on a fresh REPL process per check, read strictly (:class:`StrictRepl`)."""

    name = "repl"

    def __init__(
        self,
        command: Sequence[str],
        cwd: Path,
        settings: JudgeSettings,
        guard: GuardOptions,
        *,
        sandbox: Sandbox,
    ) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.settings = settings
        self.guard = guard
        self.sandbox = sandbox
        #: processes started so far (one per judged proof that reached Lean), for tests and benchmarks
        self.processes_started = 0
        self.last_pid: int | None = None

    def trusted_header(self, theorem: Theorem) -> str:
        """The dataset's header plus our finite ``maxHeartbeats`` (model text never reaches the header)."""
        return self._header(theorem.header)

    def _header(self, header: str) -> str:
        """``header`` then our ``set_option maxHeartbeats``, which must apply to everything after it: a header
        ending in ``open X in`` / ``set_option … in`` would scope our option away (the next command would be the
        ``in``'s body), so such a header is refused (``ValueError``: the caller's fail-closed rejection)."""
        toks = code_tokens(header)  # LexError (a ValueError) for text that cannot be read: refused too
        if toks and toks[-1].kind == "ident" and toks[-1].text == "in":
            raise ValueError(
                "the header ends with 'in': it would scope the judge's maxHeartbeats away; refused"
            )
        return f"{header.rstrip()}\n\nset_option maxHeartbeats {self.settings.max_heartbeats}\n"

    def check_command(self, header: str, command: str, *, timeout_s: float | None = None) -> Verdict:
        """One command (FPS RPE) in the judge's process model: a FRESH sandboxed REPL, the trusted ``header``
        with our finite ``maxHeartbeats`` (the command may set its own budget with ``set_option … in``: it is
        our text), ``command`` on the header's env read strictly (exactly one answer, the env id in sequence),
        then the nonce follow-up and exit 0 at end of input (:class:`StrictRepl`). Accepted only when the
        command answered with no error and no ``sorry`` AND the transcript held; anything else is a rejection.
        ``timeout_s``: the wall clock for the whole check (default ``verify.timeout_s``)."""
        from prover.lean.verify import compile_reasons

        limit = timeout_s if timeout_s is not None else self.settings.timeout_s

        def check(repl: StrictRepl) -> Verdict | None:
            reasons = compile_reasons(repl(command))
            return Verdict(False, tuple(reasons), "compile", judge=self.name) if reasons else None

        return self._in_fresh_repl(lambda: self._header(header), limit, check)

    def _in_fresh_repl(
        self, header: Callable[[], str], limit: float, check: Callable[[StrictRepl], Verdict | None]
    ) -> Verdict:
        """The judge's process model, once: a fresh :class:`StrictRepl` on ``header()`` with ``limit`` seconds in
        all, ``check`` (a rejection, or None to go on), then the nonce follow-up and exit 0; a timeout, a broken
        transcript or any other failure is a rejection naming it (fail closed); the process is always killed."""
        deadline = time.monotonic() + limit
        repl: StrictRepl | None = None
        try:
            self.processes_started += 1
            repl = StrictRepl(
                self.command, self.cwd, header=header(), deadline=deadline, sandbox=self.sandbox
            )
            self.last_pid = repl.proc.pid
            rejected = check(repl)
            if rejected is not None:
                return rejected
            repl.finish("judge-" + secrets.token_hex(8))
            return Verdict(True, judge=self.name)
        except TimeoutError:
            return _verdict(False, f"no verdict within {limit:g} s", "judge", self.name)
        except TranscriptError as exc:
            return _verdict(False, f"the judged REPL broke its protocol: {exc}", "judge", self.name)
        except Exception as exc:  # fail closed: anything unexpected is a rejection with its reason
            return _verdict(False, f"the repl judge failed: {type(exc).__name__}: {exc}", "judge", self.name)
        finally:
            if repl is not None:
                repl.close()

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Verdict:
        from prover.lean.verify import verify_proof

        if definition_names:
            return _verdict(
                False,
                "the repl judge does not check definition holes (FPS answers, …_solution); use comparator",
                "judge",
                self.name,
            )
        too_much = heartbeat_refusals(proof, self.settings.max_heartbeats)
        if too_much:
            return Verdict(False, tuple(too_much), "guard", judge=self.name)
        static = verify_proof(theorem, proof, options=self.guard)  # the pre-filter alone, before any process
        if not static.accepted:
            return _named(static, self.name)

        def check(repl: StrictRepl) -> Verdict | None:
            failure: list[Exception] = []

            def run(command: str, env: int | None = None) -> Response:
                try:
                    return repl(command, env)  # type: ignore[misc]
                except Exception as exc:
                    failure.append(exc)
                    raise

            verdict = verify_proof(theorem, proof, run_command=run, options=self.guard)
            if failure:  # a broken transcript is never only the failed check's business
                raise failure[0]
            return None if verdict.accepted else _named(verdict, self.name)

        return self._in_fresh_repl(lambda: self.trusted_header(theorem), self.settings.timeout_s, check)

    def close(self) -> None:
        return None


#: The most of comparator's JSON report read (a report is a few KB; more is not a report).
REPORT_MAX_BYTES = 4 << 20


def read_report(path: Path, max_bytes: int = REPORT_MAX_BYTES) -> str | None:
    """Comparator's report, or None when it is missing, not a regular file, a symlink or too large (the caller
    then fails closed). The report directory is writable from inside the sandbox, so code in the build could
    plant a link there to a file of the host: opened with ``O_NOFOLLOW`` and checked with ``fstat``."""
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        data = os.read(fd, max_bytes + 1)
        if len(data) > max_bytes:
            return None
        return data.decode("utf-8", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


_HEARTBEAT_OPTIONS = frozenset({"maxHeartbeats", "synthInstance.maxHeartbeats"})


def heartbeat_refusals(proof: str, limit: int) -> list[str]:
    """Reasons a proof's own ``set_option`` would lift the trusted header's finite heartbeat budget.

    ``maxHeartbeats 0`` means no limit in Lean (``Lean.Core.getMaxHeartbeats``); more than ``limit`` is refused.
    """
    try:
        toks = code_tokens(proof)
    except (LexError, ValueError) as exc:
        return [f"cannot read the proof: {exc}"]
    reasons = []
    for k, tok in enumerate(toks[:-2]):
        if tok.kind == "ident" and tok.text == "set_option" and toks[k + 1].text in _HEARTBEAT_OPTIONS:
            value = toks[k + 2].text.replace("_", "")
            if not value.isdigit() or int(value) == 0 or int(value) > limit:
                reasons.append(
                    f"set_option {toks[k + 1].text} {toks[k + 2].text}: the judge's heartbeat limit is "
                    f"{limit} (0 would mean no limit)"
                )
    return reasons


def _clip(data: bytes | str, limit: int = 160) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")


# --- the comparator judge (the contract itself: prover.lean.comparator) ------------------------------
class ComparatorJudge:
    """``verify.judge=comparator``: one comparator run per judged proof, in a fresh workspace."""

    name = "comparator"

    def __init__(
        self,
        settings: JudgeSettings,
        project: Path,
        guard: GuardOptions,
        sandbox: Sandbox,
        *,
        command_judge: ReplJudge | None = None,
    ) -> None:
        self.settings = settings
        self.project = project
        self.guard = guard
        self.sandbox = sandbox
        #: who checks commands (FPS RPE): comparator checks theorems only, so the repl judge does
        self.command_judge = command_judge
        cmp = settings.comparator
        self.command = [
            arg if "/" not in arg or Path(arg).is_absolute() else str(project / arg) for arg in cmp.command
        ]
        self.env: dict[str, str] = {
            # comparator passes HOME (and PATH) into landrun for `lake build`: elan finds its toolchains there
            "HOME": os.environ.get("HOME", "/nonexistent"),
            "LANG": "C.UTF-8",
        }
        tool_dirs: list[str] = []
        for var, tool in (("COMPARATOR_LEAN4EXPORT", cmp.lean4export), ("COMPARATOR_LANDRUN", cmp.landrun)):
            found = resolve_tool(tool, project) if tool else None
            if found:
                self.env[var] = found
                tool_dirs.append(str(Path(found).parent))
        # Two ways to find the tools, one per comparator line: master reads COMPARATOR_LANDRUN /
        # COMPARATOR_LEAN4EXPORT (``Main.lean``, ``M.run``: ``IO.getEnv``), the branch ``pre-v25`` (Lean <= v4.24,
        # the project's) runs ``cmd := "landrun"`` / ``"lean4export"`` from PATH. So their directories go first
        # on PATH as well, and into the sandbox (read-only) when they live outside the project.
        dirs = list(dict.fromkeys(tool_dirs))
        self.env["PATH"] = os.pathsep.join([*dirs, os.environ.get("PATH", "/usr/bin:/bin")])
        outside = [Path(d) for d in dirs if not Path(d).resolve().is_relative_to(project)]
        if outside:
            self.sandbox = dataclasses.replace(sandbox, read_only=(*sandbox.read_only, *outside))

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Verdict:
        try:
            task = build_task(theorem, proof, definition_names, self.guard)
        except (ComparatorInputError, SourceError, ValueError) as exc:
            return Verdict(False, (f"cannot write the comparator solution: {exc}",), "guard", judge=self.name)
        if isinstance(task, list):
            return Verdict(False, tuple(task), "guard", judge=self.name)
        cmp = self.settings.comparator
        root = Path(tempfile.mkdtemp(prefix="comparator-", dir=cmp.workdir))  # 0700: only we reach inside
        try:
            work = root / "work"
            work.mkdir()
            config, report = write_workspace(work, task, self.guard.allowed_axioms, self.project)
            for path in (
                work,
                report.parent,
            ):  # the sandbox runs comparator as an unprivileged uid of its own
                path.chmod(0o777)
            outcome = self._run(work, config, report)
            accepted, reasons, check = read_outcome(
                outcome, task, require_report=cmp.require_report, timeout_s=self.settings.timeout_s
            )
            return Verdict(accepted, reasons, check, judge=self.name)
        except Exception as exc:  # fail closed
            return Verdict(
                False, (f"comparator judge failed: {type(exc).__name__}: {exc}",), "judge", judge=self.name
            )
        finally:
            if not cmp.keep_workdir:
                shutil.rmtree(root, ignore_errors=True)

    def check_command(self, header: str, command: str, *, timeout_s: float | None = None) -> Verdict:
        """Commands (FPS RPE) are not comparator checks (it compares a theorem with its challenge): the repl
        judge decides them, and its verdict says ``repl``. Without one: a rejection (fail closed)."""
        if self.command_judge is None:
            return _verdict(
                False,
                "comparator checks theorems, not commands, and has no repl fallback",
                "judge",
                self.name,
            )
        return self.command_judge.check_command(header, command, timeout_s=timeout_s)

    def close(self) -> None:
        return None  # nothing lives between checks: each has its own workspace and processes

    def _run(self, root: Path, config: Path, report: Path) -> ComparatorOutcome:
        """Run comparator to its exit or the deadline; then its whole process group is killed (nothing of the
        run, e.g. a daemon left by the build, may outlive it or keep the pipe open)."""
        proc = launch(
            [*self.command, str(config)],
            cwd=root,
            env=self.env,
            sandbox=self.sandbox,
            writable=[root],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,  # comparator's "uncaught exception: …" goes to stderr
        )
        deadline = time.monotonic() + self.settings.timeout_s
        chunks: list[bytes] = []
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        code: int | None = None
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            drain_until: float | None = None
            while True:
                now = time.monotonic()
                if code is None and (code := proc.poll()) is not None:
                    drain_until = now + 1.0
                if drain_until is not None and now >= drain_until:
                    break
                if code is None and now >= deadline:
                    break
                if not sel.select(0.2):
                    continue
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    if code is None:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                    break
                chunks.append(data)
        kill_and_reap(proc)
        text = read_report(report)
        return ComparatorOutcome(code, b"".join(chunks).decode("utf-8", "replace"), text)
