"""The sandbox around every process that elaborates untrusted text (bubblewrap), and its settings.

Lean elaboration of model text is code execution (``(config := …)`` values are evaluated, ``simproc`` s run,
…), so the process that does it gets nothing worth stealing or breaking. :class:`Sandbox` builds the
bubblewrap argv (``bwrap``, Debian package ``bubblewrap``) and starts processes under it:

* new network, PID, IPC, UTS and cgroup namespaces (``--unshare-all`` minus the user namespace when we are
  root, see below): no network at all, not even 127.0.0.1;
* a new root that holds only read-only binds of the system (``/usr`` and its ``/bin``, ``/lib*`` links, the
  loader's files in ``/etc``), the Python that runs our launcher, the toolchain the command resolves to
  (``~/.elan`` for ``lake``), the project (Mathlib in its ``.lake``) and paths the caller names; a private
  ``/tmp`` (tmpfs, size-capped) that is also ``$HOME``; fresh ``/proc`` and ``/dev``;
* a scrubbed environment: an allow-list (``PATH``, locale, ``LEAN_*``/``ELAN_*``) plus what the config sets
  explicitly, never API keys or tokens;
* ``--die-with-parent`` and a new session: bubblewrap gets ``SIGKILL`` when the prover dies (``kill -9``
  included), its pid 1 then dies, and the kernel kills every process of the PID namespace, daemons included;
* rlimits set by ``sandbox_exec.py`` just before the command runs: address space, processes, file size, open
  files, CPU time, no core dumps.

Root: ``RLIMIT_NPROC`` is not enforced for uid 0, so when the prover runs as root bubblewrap runs privileged
(no user namespace), hands the command only ``CAP_SETUID``/``CAP_SETGID``, and ``sandbox_exec.py`` switches to
an unprivileged uid of its own (one per sandbox, above 2^30, where no account lives) before the limits are set.
As another user, bubblewrap makes a user namespace and the kernel counts processes per namespace (Linux >= 5.14).

``PR_SET_PDEATHSIG`` (what ``--die-with-parent`` uses) fires when the *thread* that forked the child exits, and
the pool starts processes from worker threads that come and go; every sandbox is therefore started from one
long-lived thread of this process (:func:`_spawn`), which ends only with the process.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import NonNegativeInt, field_validator

from prover.lean.errors import LeanError
from prover.settings import Settings, load_settings

SandboxMode = Literal["auto", "bwrap", "none"]
_EXEC = Path(__file__).with_name("sandbox_exec.py")
_INSTALL = "install bubblewrap (`apt-get install bubblewrap`) or pass backend.sandbox=none to run Lean without a sandbox"
#: Variables passed into the sandbox when set here: what Python, Lean, Lake and elan read. Nothing else.
ENV_ALLOW = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "LEAN_PATH",
    "LEAN_SRC_PATH",
    "LEAN_SYSROOT",
    "LEAN_NUM_THREADS",
    "LEAN_CC",
    "ELAN_HOME",
    "ELAN_TOOLCHAIN",
    "LAKE_HOME",
)
#: The loader and ``/usr/bin/X -> /etc/alternatives/X`` links need these; the rest of ``/etc`` stays out.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_UID_BASE = 1 << 30


class LeanUnavailable(LeanError, RuntimeError):
    """The configured backend cannot run on this machine; the message says what is missing and how to get it.

    (Re-exported by ``prover.lean.factory``, where callers import it from.)"""


class SandboxUnavailable(LeanUnavailable):
    """The sandbox was asked for (``auto``/``bwrap``) but cannot run here; the message says what to do."""


class SandboxLimits(Settings):
    """``backend.sandbox_limits``: rlimits of every sandboxed process (0: no limit). Only with a sandbox.

    ``address_space_mb`` bounds virtual memory (``RLIMIT_AS``). Lean reserves more address space than it
    uses and maps Mathlib's ``.olean`` files (about 6 GB for all of Mathlib) into it, so a tight bound kills
    healthy processes; resident memory stays watched by ``max_rss_mb`` (the real cap, checked after each
    answer). ``auto`` is therefore generous: 4 x ``max_rss_mb`` (48 GB with the default 12000), or 32768
    without an RSS cap. It stops a runaway allocation before the machine swaps, never a normal import.
    """

    address_space_mb: NonNegativeInt | None = None
    #: Processes *and threads* (Linux counts both): Lean runs one worker thread per core.
    processes: NonNegativeInt = 1024
    file_size_mb: NonNegativeInt = 1024
    #: Never above the hard limit this process has.
    open_files: NonNegativeInt = 65536
    #: CPU seconds over a process's whole life (a REPL lives for ``restart_every`` commands).
    cpu_time_s: NonNegativeInt = 14400
    #: The private ``/tmp`` (memory-backed).
    tmp_size_mb: NonNegativeInt = 1024

    @field_validator("address_space_mb", mode="before")
    @classmethod
    def _auto(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "auto" else value

    def rlimits(self, max_rss_mb: float | None) -> dict[str, int]:
        """``sandbox_exec.py``'s ``--rlimit`` values (bytes / counts / seconds); a 0 limit is left out."""
        address = self.address_space_mb
        if address is None:
            address = int(4 * max_rss_mb) if max_rss_mb else 32768
        mb = 1024 * 1024
        values = {
            "AS": address * mb,
            "NPROC": self.processes,
            "FSIZE": self.file_size_mb * mb,
            "NOFILE": self.open_files,
            "CPU": self.cpu_time_s,
        }
        return {k: int(v) for k, v in values.items() if v}


def load_sandbox_limits(cfg: Any, group: str = "backend.sandbox_limits") -> SandboxLimits:
    """The ``sandbox_limits:`` block on its own, so a typo is named among the limits' keys."""
    return load_settings(SandboxLimits, cfg, group)


@dataclass(frozen=True)
class Sandbox:
    """How processes that elaborate untrusted text are started: ``mode`` ``bwrap`` or ``none``.

    Build one with :func:`make_sandbox` (which resolves ``auto`` and checks that bubblewrap works here).
    ``popen`` starts a long-lived process (the REPL pool), ``run`` a one-off command with a deadline (a judge).
    """

    mode: Literal["bwrap", "none"]
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    max_rss_mb: float | None = None
    #: Paths visible read-only inside, at the same place (the toolchain, the project, Python, ...).
    read_only: tuple[Path, ...] = ()
    #: Variables set inside on top of the allow-list (the config's ``backend.env``).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Paths bound read-write (a judge's private workspace). As root they are handed to the sandbox's uid
    #: (``chown -R``) when a process starts: give only a scratch directory of its own.
    writable: tuple[Path, ...] = ()

    def describe(self) -> str:
        """``bwrap`` or ``none``: what ``describe()["sandbox"]``, ``run.json`` and reports show."""
        return self.mode

    # --- argv --------------------------------------------------------------------------------------
    def argv(
        self, command: Sequence[str], cwd: str | Path, status_fd: int | None = None, uid: int | None = None
    ) -> list[str]:
        """The full argv that runs ``command`` in ``cwd`` inside the sandbox (``command`` itself for ``none``).

        ``uid``: the sandbox's own uid when we are root (a fresh one when not given)."""
        command = [str(c) for c in command]
        if self.mode == "none":
            return command
        cwd_path = Path(cwd).resolve()
        paths = _minimal_paths(
            [*self.read_only, *_python_paths(), *_command_paths(command[0], cwd_path), cwd_path]
        )
        args = [_bwrap(), *_namespace_args()]
        args += ["--die-with-parent", "--new-session", "--clearenv"]
        args += _system_binds()
        args += ["--proc", "/proc", "--dev", "/dev"]
        if self.limits.tmp_size_mb:
            args += ["--size", str(self.limits.tmp_size_mb * 1024 * 1024)]
        args += [
            "--perms",
            "1777",
            "--tmpfs",
            "/tmp",
        ]  # before the binds: a bound path under /tmp stays visible
        made: set[Path] = set()
        for path in paths:
            for parent in reversed(path.parents):
                if parent != Path("/") and parent not in made and not _is_system(parent):
                    made.add(parent)
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", str(path), str(path)]
        for path in _minimal_paths(self.writable):  # after the read-only binds, so they win inside them
            for parent in reversed(path.parents):
                if (
                    parent != Path("/")
                    and parent not in made
                    and not _is_system(parent)
                    and not _inside(parent, paths)
                ):
                    made.add(parent)
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--bind", str(path), str(path)]
        for key, value in self.environment(command[0]).items():
            args += ["--setenv", key, value]
        args += ["--chdir", str(cwd_path)]
        args += ["--", _python(), "-I", "-S", str(_EXEC)]
        if os.geteuid() == 0:
            args += ["--uid", str(uid if uid is not None else _sandbox_uid())]
        for name, limit in self.limits.rlimits(self.max_rss_mb).items():
            args += ["--rlimit", f"{name}={limit}"]
        if status_fd is not None:
            args += ["--status-fd", str(status_fd)]
        return [*args, "--", *command]

    def environment(self, exe: str = "") -> dict[str, str]:
        """The sandbox's whole environment: the allow-list, a private home, the explicit extras."""
        env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
        env.setdefault("PATH", os.defpath)
        elan = _elan_home(exe)
        if elan is not None:
            env.setdefault("ELAN_HOME", str(elan))  # $HOME changes below: elan must still find its toolchains
        env.update({"HOME": "/tmp", "TMPDIR": "/tmp"})
        env.update(self.env)
        return env

    # --- processes ---------------------------------------------------------------------------------
    def popen(
        self,
        command: Sequence[str],
        cwd: str | Path,
        *,
        status_fd: int | None = None,
        env: Mapping[str, str] | None = None,
        **popen_args: Any,
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` (in its own session, so ``os.killpg(p.pid, SIGKILL)`` ends it all).

        With ``bwrap`` the environment is the sandbox's (``env`` is ignored: set ``Sandbox.env``), and the
        process is started from the long-lived spawner thread so that ``--die-with-parent`` means this process.
        """
        uid = None
        if self.mode == "bwrap" and os.geteuid() == 0:
            uid = _sandbox_uid()
            for path in self.writable:  # the sandbox's uid must be able to write its workspace
                _chown_tree(Path(path), uid)
        argv = self.argv(command, cwd, status_fd, uid)
        if self.mode == "none":
            return subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                **popen_args,
            )
        outer_env = {"PATH": os.environ.get("PATH", os.defpath)}
        return _spawn(
            lambda: subprocess.Popen(argv, cwd="/", env=outer_env, start_new_session=True, **popen_args)
        )

    def run(
        self,
        command: Sequence[str],
        cwd: str | Path,
        *,
        input: bytes | None = None,
        timeout: float,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a one-off command to completion; on ``timeout`` kill everything it started and re-raise
        ``subprocess.TimeoutExpired``. For a judge's single check: a fresh sandbox per call."""
        proc = self.popen(
            command,
            cwd,
            env=env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.communicate()
            raise
        finally:
            kill_group(proc)  # nothing it started outlives it (with bwrap: the PID namespace goes)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the process group that ``Sandbox.popen`` started (bwrap's pid 1 follows by death signal)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()


def kill_and_reap(proc: subprocess.Popen[Any], wait_s: float = 5.0) -> bool:
    """Kill the group (:func:`kill_group`), close our ends of its pipes, and reap it; False when it has not
    exited ``wait_s`` after SIGKILL (a process stuck in the kernel)."""
    kill_group(proc)
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if stream:
                stream.close()
    try:
        proc.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        return False
    return True


def make_sandbox(
    mode: SandboxMode,
    limits: SandboxLimits | None = None,
    *,
    max_rss_mb: float | None = None,
    read_only: Iterable[str | Path] = (),
    env: Mapping[str, str] | None = None,
) -> Sandbox:
    """The sandbox for ``mode``; raises :class:`SandboxUnavailable` (one sentence) when it cannot work here.

    ``auto`` and ``bwrap`` both need bubblewrap to work (probed once per process); the difference is only the
    wording of the refusal. Model text is never elaborated outside a sandbox unless ``none`` was asked for.
    """
    if mode not in ("auto", "bwrap", "none"):
        raise SandboxUnavailable(f"backend.sandbox must be auto, bwrap or none, not {mode!r}")
    sandbox = Sandbox(
        "none" if mode == "none" else "bwrap",
        limits or SandboxLimits(),
        max_rss_mb,
        # both spellings of each path: the resolved one (what a symlink inside points to) and the one the
        # caller wrote (a command line may name a file through a symlinked folder, e.g. ../shared)
        tuple(
            dict.fromkeys(
                q
                for p in read_only
                for q in (Path(os.path.abspath(Path(p).expanduser())), Path(p).expanduser().resolve())
            )
        ),
        dict(env or {}),
    )
    if sandbox.mode == "bwrap":
        problem = bwrap_problem()
        if problem:
            asked = (
                "backend.sandbox=auto found no working sandbox" if mode == "auto" else "backend.sandbox=bwrap"
            )
            raise SandboxUnavailable(f"{asked}: {problem}; {_INSTALL}")
    return sandbox


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str:
    """Why bubblewrap cannot sandbox here ("" when it can): starts one empty sandbox, with our exact setup."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    probe = Sandbox("bwrap", SandboxLimits())
    try:
        done = probe.run([_python(), "-I", "-S", "-c", "pass"], "/", timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not start ({exc})"
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bwrap failed ({first[0] if first else f'exit {done.returncode}'})"
    return ""


# --- helpers -----------------------------------------------------------------------------------------
def _bwrap() -> str:
    return shutil.which("bwrap") or "bwrap"


def _python() -> str:
    """The base interpreter (not a venv's link): runs ``sandbox_exec.py`` with ``-I -S``."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _namespace_args() -> list[str]:
    """``--unshare-all`` without the user namespace as root (see the module docstring)."""
    common = ["--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() == 0:
        return [*common, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", *common]


_uids = itertools.count()


def _sandbox_uid() -> int:
    """An unprivileged uid for one sandbox, unique among the live ones of this machine (pid + counter)."""
    return _UID_BASE | ((os.getpid() & 0x3FFFFF) << 8) | (next(_uids) & 0xFF)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _ROOT_LINKS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    for name in _ETC:
        host = Path("/etc") / name
        if host.exists():
            args += ["--ro-bind", str(host), str(host)]
    return args


def _is_system(path: Path) -> bool:
    return path == Path("/usr") or path == Path("/etc") or Path("/usr") in path.parents


def _python_paths() -> list[Path]:
    """Our launcher's interpreter and, for Python commands (the doubles), the venv and this package."""
    package_root = Path(__file__).resolve().parents[2]
    return [Path(sys.base_prefix), Path(sys.prefix), package_root, _EXEC]


def _command_paths(exe: str, cwd: Path) -> list[Path]:
    """What of the toolchain ``exe`` resolves to is bound (read-only) into the sandbox.

    ``X`` of ``X/bin/exe`` only when ``X`` is a toolchain (``lib/lean``, an elan toolchain or elan's home) and
    never the user's home, one of its ancestors or ``~/.local``: with ``lake`` in ``~/bin`` or ``~/.local/bin``
    binding ``X`` would show the whole home (tokens, keys) to model code. Otherwise only the executable itself,
    symlinks resolved to the real file (both names are bound, so the command runs by either)."""
    found: list[Path] = []
    candidates = [cwd / exe] if "/" in exe else []
    which = shutil.which(exe)
    if which:
        candidates.append(Path(which))
    for path in candidates:
        if not path.exists():
            continue
        for p in dict.fromkeys((path.absolute(), path.resolve())):
            prefix = p.parent.parent
            if p.parent.name == "bin" and _is_toolchain(prefix) and not _near_home(prefix):
                found.append(prefix)
            else:
                found.append(p)
    elan = _elan_home(exe)
    if elan is not None:
        found.append(elan)
    return found


def _is_toolchain(prefix: Path) -> bool:
    """A Lean toolchain (``lib/lean``), one of elan's toolchains, or elan's home (``toolchains/``)."""
    return (
        (prefix / "lib" / "lean").is_dir()
        or prefix.parent.name == "toolchains"
        or (prefix / "toolchains").is_dir()
    )


def _near_home(path: Path) -> bool:
    """Whether binding ``path`` would show the user's home: it is the home, an ancestor of it, or ``~/.local``
    (``~/.local/share``, ``~/.local/state`` hold tokens and keyrings)."""
    path = path.resolve()
    homes = {Path.home()}
    if os.environ.get("HOME"):
        homes.add(Path(os.environ["HOME"]))
    for home in homes:
        home = home.resolve()
        if path == home or path in home.parents or path == home / ".local":
            return True
    return False


def _elan_home(exe: str) -> Path | None:
    """elan's home when ``exe`` is one of its proxies (``~/.elan/bin/lake``) or ``$ELAN_HOME`` is set; never the
    user's home or an ancestor of it (:func:`_near_home`)."""
    if os.environ.get("ELAN_HOME"):
        home = Path(os.environ["ELAN_HOME"]).resolve()
        return None if _near_home(home) else home
    which = shutil.which(exe) if exe else None
    if which:
        for binary in dict.fromkeys((Path(which).absolute(), Path(which).resolve())):
            home = binary.parent.parent
            if (home / "toolchains").is_dir() and not _near_home(home):
                return home.resolve()
    return None


def _chown_tree(root: Path, uid: int) -> None:
    if not root.exists():
        return
    os.lchown(root, uid, uid)
    for base, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.lchown(os.path.join(base, name), uid, uid)


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(r == path or r in path.parents for r in roots)


def _minimal_paths(paths: Iterable[Path]) -> list[Path]:
    """Absolute, existing, deduplicated, without a path inside another (and without system paths)."""
    unique = sorted(
        {Path(os.path.abspath(p)) for p in paths if p and Path(p).exists()}, key=lambda p: len(p.parts)
    )
    kept: list[Path] = []
    for path in unique:
        if path == Path("/") or _is_system(path) or any(k == path or k in path.parents for k in kept):
            continue
        kept.append(path)
    return kept


# --- the spawner thread --------------------------------------------------------------------------
_spawner_lock = threading.Lock()
_spawner: tuple[int, queue.SimpleQueue[Any]] | None = None


def _serve(jobs: queue.SimpleQueue[Any]) -> None:
    while True:
        fn, box, done = jobs.get()
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller, never kills this thread
            box["error"] = exc
        done.set()


def _spawn(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` (a ``Popen``) in this process's one long-lived spawner thread and return its result."""
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():
            jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(jobs,), name="sandbox-spawner", daemon=True).start()
            _spawner = (os.getpid(), jobs)
        jobs = _spawner[1]
    box: dict[str, Any] = {}
    done = threading.Event()
    jobs.put((fn, box, done))
    done.wait()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _reset_after_fork() -> None:
    global _spawner, _spawner_lock
    _spawner, _spawner_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)
