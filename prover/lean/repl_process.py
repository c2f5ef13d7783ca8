"""One Lean REPL subprocess with the robustness the REPL itself lacks.

The REPL has no timeout, no memory limit and no recovery: a looping tactic hangs it forever, memory grows
with every command, and a crash loses every proof state. This class adds our own per-command deadline
(``selectors`` on the stdout pipe, so there is no reader thread to leak), a resident-memory watch, a restart
every ``restart_every`` commands, and a restart after any timeout, crash or garbage output. After a restart the
header is elaborated again on first use; ``generation`` counts restarts so callers can tell that their
``proofState`` ids died with the old process.

Memory: we watch the resident set size of the whole process tree through ``/proc`` instead of setting
``RLIMIT_AS``. Lean reserves far more virtual address space than it uses and memory-maps Mathlib's
``.olean`` files (gigabytes of mostly shared pages), so an address-space limit kills healthy processes,
while RSS is what actually exhausts a machine. ``lake env`` runs the REPL as a child, so the whole tree is
summed and killed (the process is a session leader; we signal its process group).

Sandbox and parent death: with a bubblewrap :class:`~prover.lean.sandbox.Sandbox` (``backend.sandbox``), each
REPL runs in its own sandbox, whose ``--die-with-parent`` and PID namespace kill everything the REPL started
when this process dies, even by ``kill -9``. Without one (``backend.sandbox=none``), each REPL runs under
``prover.lean.reaper`` (a tiny single-threaded launcher that leads the process group and kills it when this
process dies). Either way the REPL gets our pipes as its own stdin/stdout, so nothing is added per command.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.lean.errors import LeanError
from prover.lean.header_key import header_key
from prover.lean.protocol import CommandRequest, FrameBuffer, ProtocolError, Request, Response, encode_command
from prover.lean.sandbox import Sandbox, kill_and_reap, kill_group
from prover.lean.types import Crash, TacticError, Timeout

if TYPE_CHECKING:
    from prover.lean.spares import SparePool

log = logging.getLogger(__name__)
_READ_CHUNK = 1 << 16
_REAPER = Path(__file__).with_name("reaper.py")


class ReplFailure(LeanError):
    """A command got no usable answer; the process has been killed and restarts on next use."""

    def as_result(self, *, starting: bool = False) -> Timeout | Crash | TacticError:
        """The failure as a session result (``LeanSession`` reports Lean-side failures as values).

        A timeout is ``Timeout``; a crash or garbage output is ``Crash``. A REPL that cannot start or whose
        header does not elaborate is a ``TacticError`` for ``start`` (this theorem cannot be opened) and a
        ``Crash`` for a step (the state it needed is gone).
        """
        if isinstance(self, ReplTimeout):
            return Timeout(self.seconds)
        if starting and isinstance(self, ReplStartError):
            return TacticError((str(self),))
        return Crash(str(self))


class ReplTimeout(ReplFailure):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


class ReplCrash(ReplFailure):
    """The process exited, answered garbage, or grew past its memory limit."""


class ReplStartError(ReplFailure):
    """The REPL could not be started or its header did not elaborate: not recoverable by retrying."""


class ReplProcess:
    """A restartable REPL process; not thread-safe (the pool gives each process to one thread at a time)."""

    def __init__(
        self,
        command: Sequence[str],
        cwd: str | Path = ".",
        *,
        timeout_s: float = 10.0,
        start_timeout_s: float = 300.0,
        max_rss_mb: float | None = None,
        restart_every: int | None = None,
        env: Mapping[str, str] | None = None,
        sandbox: Sandbox | None = None,
        spares: SparePool[ReplProcess] | None = None,
    ) -> None:
        if isinstance(command, str) or not command:
            raise ValueError("the REPL command must be a non-empty argv list, not a shell string")
        self.command = [str(c) for c in command]
        self.cwd = Path(cwd)
        self.timeout_s = float(timeout_s)
        self.start_timeout_s = float(start_timeout_s)
        self.max_rss_mb = max_rss_mb
        self.restart_every = restart_every
        self.env = dict(env) if env is not None else None
        #: ``None`` or mode ``none``: run under the reaper, unsandboxed (``env`` is then the whole environment)
        self.sandbox = sandbox if sandbox is not None and sandbox.mode != "none" else None
        self.generation = 0  # incremented at every (re)start
        self.commands_sent = 0  # since the last start
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._watch_w: int | None = None
        self._stderr: Any = None
        self._frames = FrameBuffer()
        self._header_envs: dict[str, int] = {}
        #: warm spares of the headers this process imports (``prover.lean.spares``): a restart adopts one
        self.spares = spares
        #: the imports this process elaborated last, normalised (``header_key``): the spare it restarts from
        self.imports_key: tuple[str, ...] = ()
        #: restarts that adopted a warm spare instead of importing again
        self.adopted = 0

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start a fresh process (killing any old one), in its sandbox or under the reaper."""
        self.kill()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        if self.sandbox is not None:
            self._start_sandboxed(self.sandbox)
        else:
            self._start_reaped()
        os.set_blocking(self._proc.stdout.fileno(), False)  # type: ignore[union-attr]
        self._frames = FrameBuffer()
        self._header_envs = {}
        self.generation += 1
        self.commands_sent = 0

    def _start_sandboxed(self, sandbox: Sandbox) -> None:
        """bubblewrap's ``--die-with-parent`` and PID namespace do the reaper's job: no process in between."""
        status_r, status_w = os.pipe()
        try:
            self._proc = sandbox.popen(
                self.command,
                self.cwd,
                status_fd=status_w,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                pass_fds=(status_w,),
                bufsize=0,
            )
        except OSError as exc:
            os.close(status_r)
            self.kill()
            raise ReplStartError(f"cannot start the sandbox for the REPL {self.command!r}: {exc}") from exc
        finally:
            os.close(status_w)
        failure = _exec_failure(status_r, self.start_timeout_s)
        if not failure and self._proc.poll() is not None:  # bubblewrap itself refused (a bind, a namespace)
            failure = f"the sandbox exited with code {self._proc.returncode}{self._stderr_tail()}"
        if failure:
            self.kill()
            raise ReplStartError(f"cannot start the REPL {self.command!r} in {self.cwd}: {failure}")

    def _start_reaped(self) -> None:
        watch_r, self._watch_w = os.pipe()  # the write end never leaves this process (O_CLOEXEC)
        status_r, status_w = os.pipe()
        argv = [sys.executable, "-I", "-S", str(_REAPER), str(watch_r), str(status_w), "--", *self.command]
        try:
            self._proc = subprocess.Popen(
                argv,
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=self.env,
                start_new_session=True,
                pass_fds=(watch_r, status_w),
                bufsize=0,
            )
        except OSError as exc:
            os.close(status_r)
            self.kill()
            raise ReplStartError(f"cannot start the REPL {self.command!r} in {self.cwd}: {exc}") from exc
        finally:
            os.close(watch_r)
            os.close(status_w)
        failure = _exec_failure(status_r, self.start_timeout_s)
        if failure:
            self.kill()
            raise ReplStartError(f"cannot start the REPL {self.command!r} in {self.cwd}: {failure}")

    def kill(self) -> None:
        """Kill the whole process group (reaper, REPL, ``lake env``'s children) and release its pipes."""
        proc, self._proc = self._proc, None
        if proc is not None and not kill_and_reap(proc):
            log.warning("REPL process %d did not exit after SIGKILL", proc.pid)
        if self._watch_w is not None:
            os.close(self._watch_w)  # the reaper (if still alive) kills its group on this EOF
            self._watch_w = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def interrupt(self) -> None:
        """SIGKILL the process group and nothing more, for a thread that does not hold this process: the
        pipes stay open for the thread that does (closing an fd another thread polls would leave its poll
        asleep, and its number free for reuse); that thread's read ends at EOF and it cleans up (``kill``)."""
        proc = self._proc
        if proc is not None:
            kill_group(proc)

    def shutdown(self, grace_s: float = 2.0) -> int | None:
        """Close stdin (the REPL exits at end of input) and return the exit code; kill after ``grace_s``."""
        proc = self._proc
        if proc is None:
            return None
        try:
            if proc.stdin:
                proc.stdin.close()
            code = proc.wait(timeout=grace_s)
        except (OSError, subprocess.TimeoutExpired):
            code = None
        self.kill()
        return code

    close = kill

    def _restart_due(self) -> bool:
        return bool(self.restart_every) and self.commands_sent >= int(self.restart_every)  # type: ignore[arg-type]

    def ensure_started(self, imports_key: tuple[str, ...] | None = None) -> None:
        """Start the process if it is not running (or is due for a restart): from a warm spare that has
        imported ``imports_key`` (default: the imports this process had) when there is one, else afresh."""
        if not self.alive or self._restart_due():
            if self.generation:
                self.restarts += 1
            wanted = self.imports_key if imports_key is None else imports_key
            spare = self.spares.take(wanted) if self.spares and wanted else None
            if spare is not None:
                self.adopt(spare)
            else:
                self.start()

    def adopt(self, spare: ReplProcess) -> None:
        """Become ``spare`` (a started process that has imported a header): its OS process, pipes and env
        ids replace ours, which are killed. ``generation`` moves on, so states of the old process are dead."""
        self.kill()
        self._proc, spare._proc = spare._proc, None
        self._watch_w, spare._watch_w = spare._watch_w, None
        self._stderr, spare._stderr = spare._stderr, None
        self._frames, spare._frames = spare._frames, FrameBuffer()
        self._header_envs, spare._header_envs = spare._header_envs, {}
        self.imports_key = spare.imports_key or self.imports_key
        self.commands_sent = spare.commands_sent
        self.generation += 1
        self.adopted += 1

    # --- requests ---------------------------------------------------------------------------------
    def header_env(self, header: str) -> int | None:
        """The env id of ``header`` in this process, elaborating it once per process.

        Imports are elaborated once; the rest of a header (``open``, ``set_option`` lines) is elaborated on
        top of that env, so theorems with different ``open`` lines share one ``import Mathlib``.
        """
        key = header_key(header)
        self.ensure_started(key.imports)
        imports, rest = key.import_text, key.rest
        env: int | None = None
        for is_import, key_text, text, timeout in (
            (True, imports, imports, self.start_timeout_s),
            (False, imports + "\n" + rest, rest, None),
        ):
            if not text.strip():
                continue
            if key_text in self._header_envs:
                env = self._header_envs[key_text]
                continue
            resp = self.request(CommandRequest(text, env=env), timeout=timeout)
            if not resp.ok or resp.env is None:
                raise ReplStartError(f"the header does not elaborate: {'; '.join(resp.errors) or resp.raw}")
            env = self._header_envs[key_text] = resp.env
            if is_import and self.spares is not None:
                self.spares.want(key.imports, imports)
        if key.imports:
            self.imports_key = key.imports
        return env

    def request(self, command: Request | Mapping[str, Any], timeout: float | None = None) -> Response:
        """Send one command, wait for its answer; raise ``ReplTimeout``/``ReplCrash`` after killing the process.

        ``command`` is a typed request (``prover.lean.protocol``) or a raw JSON object (a transcript's).
        """
        self.ensure_started()
        limit = self.timeout_s if timeout is None else timeout
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            _write_all(proc.stdin, encode_command(command))
        except (BrokenPipeError, OSError) as exc:
            self._fail(ReplCrash(f"REPL stdin closed: {exc}{self._stderr_tail()}"))
        self.commands_sent += 1
        text = self._read_frame(limit)
        try:
            response = Response.parse(text)
        except ProtocolError as exc:
            self._fail(ReplCrash(str(exc)))
        self._check_memory()
        return response

    def _read_frame(self, limit: float) -> str:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        deadline = time.monotonic() + limit
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._fail(ReplTimeout(limit))
                if not sel.select(remaining):
                    continue
                try:
                    data = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                if not data:
                    # EOF: a complete final answer without its blank line still counts; anything else crashed.
                    pending = self._frames.pending.decode("utf-8", errors="replace").strip()
                    if pending and _is_json(pending):
                        return pending
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=5)
                    partial = f" after a partial answer {pending[:80]!r}" if pending else ""
                    self._fail(
                        ReplCrash(f"REPL exited with code {proc.returncode}{partial}{self._stderr_tail()}")
                    )
                frames = self._frames.feed(data)
                if frames:
                    if len(frames) > 1:
                        self._fail(ReplCrash(f"REPL sent {len(frames)} answers to one command"))
                    return frames[0]

    def _fail(self, exc: ReplFailure) -> None:
        log.info("REPL %s: %s; killing it (restarts on next use)", self.pid, exc)
        self.kill()
        raise exc

    def _stderr_tail(self, limit: int = 400) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit))
            tail = self._stderr.read().decode("utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f" (stderr: {tail})" if tail else ""

    def _check_memory(self) -> None:
        if not self.max_rss_mb or self._proc is None:
            return
        rss = tree_rss_mb(self._proc.pid)
        if rss > float(self.max_rss_mb):
            # The answer already arrived intact; restart before the next command rather than failing this one.
            log.info("REPL %s uses %.0f MB > %s MB; restarting", self.pid, rss, self.max_rss_mb)
            self.kill()


def _exec_failure(fd: int, limit_s: float) -> str:
    """Read the reaper's status pipe to EOF (closed by a successful ``exec``): the exec error, or ``""``."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + max(limit_s, 5.0)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "the REPL's launcher did not start it in time"
                if not sel.select(remaining):
                    continue
                data = os.read(fd, 4096)
                if not data:
                    return b"".join(chunks).decode("utf-8", errors="replace")
                chunks.append(data)
    finally:
        os.close(fd)


def _write_all(stream: Any, data: bytes) -> None:
    """Unbuffered pipe writes may be partial; loop until every byte is out."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        view = view[written or 0 :]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB (0 where /proc is unavailable)."""
    total_kb = 0
    stack, seen = [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total_kb / 1024.0
