"""A hostile REPL double: speaks the REPL protocol and, on request, does what model code inside Lean could do.

Lean elaboration runs model code (``(config := …)`` values, ``simproc`` s, ``#eval`` …), so the tests of the
sandbox (``tests/test_sandbox.py``) start this double through the same launcher as a real REPL and ask it to
attack. ``{"cmd": "attack NAME {json args}"}`` answers ``{"env": n, "messages": [{"severity": "info", "data":
REPORT}]}`` where REPORT is a JSON object saying what the attempt achieved (the tests also check the effect from
outside: a file, a connection, a process):

=========  ====================================================================================
write      ``{"path"}``: write a file there
read       ``{"path"}`` (or ``"$HOME/…"``): read a file
env        the environment it was given (names and values)
connect    ``{"port"}``: open a TCP connection to 127.0.0.1
daemon     ``{"token"}``: leave a process behind (double fork + ``setsid``, ``argv[0]`` = token)
forkbomb   ``{"count", "token"}``: fork ``count`` sleeping children (``argv[0]`` = token), report how many
alloc      ``{"mb"}``: reserve that much address space (``mmap``; not touched, so no real memory is used)
=========  ====================================================================================

Any other ``cmd`` answers a bare env; tactics answer a finished proof.

``--forge`` makes it a REPL whose stdout lies, as code running inside Lean could make it: every command
"succeeds" with no message, and ``#print axioms NAME`` answers that ``NAME`` depends on no axioms. For tests
of whoever decides "proved" (a judge must not believe the REPL's stdout).
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import sys
from typing import Any

from prover.lean.protocol import encode_response, read_command_blocks

_SLEEP = "/bin/sleep"


def _attack(name: str, args: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": True, **_ATTACKS[name](args)}
    except (OSError, MemoryError, ValueError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _write(args: dict[str, Any]) -> dict[str, Any]:
    with open(args["path"], "w", encoding="utf-8") as fh:
        fh.write("written by the adversary\n")
    return {}


def _read(args: dict[str, Any]) -> dict[str, Any]:
    path = args["path"].replace("$HOME", os.environ.get("HOME", "~"))
    with open(path, encoding="utf-8") as fh:
        return {"data": fh.read()}


def _connect(args: dict[str, Any]) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", int(args["port"])), timeout=2) as conn:
        conn.sendall(b"exfiltrated\n")
    return {}


def _daemon(args: dict[str, Any]) -> dict[str, Any]:
    pid = os.fork()
    if pid == 0:  # first child: new session, fork the daemon, exit (the daemon is reparented)
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(_SLEEP, [args["token"], "300"])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return {}


def _forkbomb(args: dict[str, Any]) -> dict[str, Any]:
    forked = 0
    error = ""
    for _ in range(int(args["count"])):
        try:
            pid = os.fork()
        except OSError as exc:
            error = str(exc)
            break
        if pid == 0:
            try:
                os.execv(_SLEEP, [args["token"], "60"])
            finally:
                os._exit(0)
        forked += 1
    return {"forked": forked, "error": error}


def _alloc(args: dict[str, Any]) -> dict[str, Any]:
    region = mmap.mmap(-1, int(args["mb"]) * 1024 * 1024)
    region.close()
    return {}


def _env(args: dict[str, Any]) -> dict[str, Any]:
    return {"env": dict(os.environ)}


_ATTACKS = {
    "write": _write,
    "read": _read,
    "connect": _connect,
    "daemon": _daemon,
    "forkbomb": _forkbomb,
    "alloc": _alloc,
    "env": _env,
}


def answer(request: dict[str, Any], env: int, forge: bool) -> dict[str, Any]:
    """The answer to one request (``env`` is the id this answer's new environment gets)."""
    if "tactic" in request:
        return {"proofState": env, "goals": [], "proofStatus": "Completed"}
    text = str(request.get("cmd", ""))
    if forge:
        stripped = text.strip()
        if stripped.startswith("#print axioms"):
            name = stripped.split()[2] if len(stripped.split()) > 2 else "x"
            info = {
                "severity": "info",
                "pos": {"line": 1, "column": 0},
                "endPos": {"line": 1, "column": 6},
                "data": f"'{name}' does not depend on any axioms",
            }
            return {"env": env, "messages": [info]}
        return {"env": env}
    if text.startswith("attack "):
        _, name, *rest = text.split(" ", 2)
        args = json.loads(rest[0]) if rest else {}
        report = _attack(name, args) if name in _ATTACKS else {"ok": False, "error": f"no attack {name}"}
        info = {"severity": "info", "pos": {"line": 1, "column": 0}, "data": json.dumps(report)}
        return {"env": env, "messages": [info]}
    return {"env": env}


def main(argv: list[str]) -> int:
    forge = "--forge" in argv
    out = sys.stdout
    for env, block in enumerate(read_command_blocks(sys.stdin)):
        try:
            request = json.loads(block)
        except json.JSONDecodeError:
            request = {}
        out.write(encode_response(answer(request, env, forge)))
        out.flush()
    return 0  # EOF: exit, as the REPL does


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
