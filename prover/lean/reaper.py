"""A tiny parent for one REPL process: the REPL's whole process group dies when the prover dies.

Why not ``PR_SET_PDEATHSIG``: it fires when the *thread* that forked the child exits, and the pool restarts
REPLs lazily from worker threads; it also does not reach ``lake env``'s own child. Why not cleanup code in
the prover: ``kill -9`` runs none. So every REPL is started as::

    python -I -S reaper.py WATCH_FD STATUS_FD -- argv...

* The reaper leads its own process group; the REPL it forks stays in that group and gets the client's
  stdin/stdout pipes as its own fds 0 and 1. The reaper closes its copies at once, so it is never on the
  data path (no per-command cost) and the REPL's end of output is the client's EOF.
* It then waits for one of: the REPL exits (the reaper exits with the same status), EOF on ``WATCH_FD``
  (the client holds the only write end, which the kernel closes when the client dies in any way), its parent
  pid changes (the client died while a forked copy of it still holds the write end), or SIGTERM/SIGHUP.
  In the last three cases it SIGKILLs the whole group, itself included.
* A failed ``exec`` is written to ``STATUS_FD``, which closes on a successful ``exec``; the client reads it
  to EOF, so a missing binary is still reported at start, as ``subprocess`` does.

Standard library only and run by path with ``-I -S``, so it starts in milliseconds and needs neither the
``prover`` package nor the caller's environment variables.
"""

from __future__ import annotations

import os
import select
import signal
import sys

_POLL_S = 1.0  # how often the parent pid is compared even when no fd is ready


def _kill_group(*_: object) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(137)  # not reached: SIGKILL includes this process


def _exec_child(command: list[str], status_fd: int) -> None:
    """In the forked child: default signal dispositions (Python ignores SIGPIPE), then become the REPL."""
    for name in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        message = f"[Errno {exc.errno}] {exc.strerror or exc}"
        try:
            os.write(status_fd, message.encode("utf-8", "replace"))
        finally:
            os._exit(127)


def _wait(pid: int, watch_fd: int, parent: int) -> int:
    """The REPL's wait status, or never returns (the group is killed) when the client has gone."""
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # Linux < 5.3: poll waitpid instead
        pidfd = None
    fds = [watch_fd] if pidfd is None else [watch_fd, pidfd]
    timeout = _POLL_S if pidfd is not None else 0.05
    while True:
        ready, _, _ = select.select(fds, [], [], timeout)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if watch_fd in ready:
            try:
                data = os.read(watch_fd, 64)
            except OSError:
                data = b""
            if not data:
                _kill_group()
        if os.getppid() != parent:
            _kill_group()


def main(argv: list[str]) -> int:
    try:
        sep = argv.index("--")
        watch_fd, status_fd = int(argv[0]), int(argv[1])
        command = argv[sep + 1 :]
        if sep != 2 or not command:
            raise ValueError
    except ValueError:
        sys.stderr.write("usage: reaper.py WATCH_FD STATUS_FD -- COMMAND [ARG...]\n")
        return 2
    parent = os.getppid()
    if os.getpgrp() != os.getpid():  # never kill a group we do not lead
        os.setpgid(0, 0)
    os.set_inheritable(watch_fd, False)
    os.set_inheritable(status_fd, False)
    signal.signal(signal.SIGTERM, _kill_group)
    signal.signal(signal.SIGHUP, _kill_group)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        _exec_child(command, status_fd)
    os.close(status_fd)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    status = _wait(pid, watch_fd, parent)
    if os.WIFSIGNALED(status):  # die of the same signal, so the client sees the REPL's own exit status
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
