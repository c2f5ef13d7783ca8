"""The last step inside the sandbox before the REPL runs: drop to the sandbox's uid, set rlimits, ``exec``.

Run by bubblewrap as the sandbox's first command (``python -I -S sandbox_exec.py [options] -- argv``), so the
limits cover the REPL and everything it starts, but not bubblewrap's own pid 1 (which must live to reap).
Standard library only and run by path with ``-I -S``: it starts in milliseconds and needs neither the ``prover``
package nor the caller's environment.

Options:

``--uid U``
    Only when the prover runs as root. ``RLIMIT_NPROC`` is never enforced for uid 0 (the kernel exempts
    ``INIT_USER`` in ``copy_process``), so a fork bomb as root is unbounded; each sandbox therefore runs as its
    own unprivileged uid ``U`` (bubblewrap gave this process only ``CAP_SETUID``/``CAP_SETGID`` for this; both
    are gone after the switch, and ``PR_SET_NO_NEW_PRIVS`` is set, so nothing can regain them).
``--rlimit NAME=VALUE``
    ``NAME`` one of ``AS``, ``NPROC``, ``FSIZE``, ``NOFILE``, ``CPU`` (bytes, processes, bytes, files,
    seconds). Soft and hard limits are both set, never above the current hard limit, so the REPL cannot raise
    them again. ``CPU`` keeps a hard limit a few seconds above the soft one: SIGXCPU first, then SIGKILL.
``--status-fd N``
    A failed ``exec`` is written there (the client reads it to EOF, which a successful ``exec`` gives, as
    ``subprocess`` reports a missing binary at start).
"""

from __future__ import annotations

import os
import resource
import signal
import sys

_LIMITS = {
    "AS": resource.RLIMIT_AS,
    "NPROC": resource.RLIMIT_NPROC,
    "FSIZE": resource.RLIMIT_FSIZE,
    "NOFILE": resource.RLIMIT_NOFILE,
    "CPU": resource.RLIMIT_CPU,
}
_CPU_GRACE_S = 5


def _fail(status_fd: int | None, message: str, code: int) -> None:
    data = message.encode("utf-8", "replace")
    try:
        os.write(status_fd if status_fd is not None else 2, data)
    finally:
        os._exit(code)


def _set_limit(name: str, value: int) -> None:
    which = _LIMITS[name]
    _, hard = resource.getrlimit(which)
    capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
    soft = capped
    if name == "CPU":
        hard_cpu = capped + _CPU_GRACE_S
        capped = hard_cpu if hard == resource.RLIM_INFINITY else min(hard_cpu, hard)
    resource.setrlimit(which, (soft, capped))


def main(argv: list[str]) -> int:
    try:
        sep = argv.index("--")
    except ValueError:
        sys.stderr.write(
            "usage: sandbox_exec.py [--uid U] [--rlimit NAME=VALUE]... [--status-fd N] -- ARGV\n"
        )
        return 2
    options, command = argv[:sep], argv[sep + 1 :]
    uid: int | None = None
    status_fd: int | None = None
    limits: list[tuple[str, int]] = []
    it = iter(options)
    for opt in it:
        value = next(it, None)
        if value is None:
            _fail(None, f"sandbox_exec: {opt} needs a value\n", 2)
        elif opt == "--uid":
            uid = int(value)
        elif opt == "--status-fd":
            status_fd = int(value)
            os.set_inheritable(status_fd, False)
        elif opt == "--rlimit":
            name, _, number = value.partition("=")
            if name not in _LIMITS:
                _fail(None, f"sandbox_exec: unknown limit {name}\n", 2)
            limits.append((name, int(number)))
        else:
            _fail(None, f"sandbox_exec: unknown option {opt}\n", 2)
    if not command:
        _fail(status_fd, "sandbox_exec: no command\n", 2)
    try:
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if os.getuid() != uid or os.geteuid() != uid:
                raise OSError(f"still uid {os.geteuid()}")
        for limit_name, limit_value in limits:
            _set_limit(limit_name, limit_value)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dumps of a multi-GB Lean into the tmpfs
    except (OSError, ValueError) as exc:
        _fail(status_fd, f"the sandbox could not drop privileges or set its limits: {exc}", 126)
    for name in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        _fail(status_fd, f"[Errno {exc.errno}] {exc.strerror or exc}", 127)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
