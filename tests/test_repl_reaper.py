"""REPL processes die with the prover, however it dies (``kill -9`` included), and only then.

A driver subprocess builds a ``ReplSession`` over the misbehaving REPL double, started from pool threads
that have exited by the time we look (the case ``PR_SET_PDEATHSIG`` gets wrong: the sandbox's
``--die-with-parent`` is a death signal, so the sandbox starts every process from one long-lived thread), with
the double run as a grandchild (``sh -c``, like ``lake env repl``) and busy on a hanging tactic (a REPL that is
not reading never notices that its stdin has closed). It prints every pid of the REPL process trees; we kill
it and expect all of them gone within a few seconds. Both launchers: bubblewrap (``backend.sandbox=bwrap``,
no reaper process) and the reaper (``backend.sandbox=none``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from prover.lean.repl_process import ReplProcess, ReplStartError
from prover.lean.sandbox import bwrap_problem

DOUBLE = Path(__file__).parent / "doubles" / "misbehaving_repl.py"

DRIVER = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from prover.lean.repl_backend import ReplSession
    from prover.lean.types import Theorem, TacticState

    double, sandbox = sys.argv[1], sys.argv[2]
    command = ["sh", "-c", f'"{sys.executable}" "{double}"; exit $?']  # the REPL as a grandchild
    session = ReplSession(
        {"command": command, "pool_size": 2, "tactic_timeout_s": 300, "start_timeout_s": 10, "sandbox": sandbox}
    )
    session.tactic_guard = lambda tactic: []
    threads = [threading.Thread(target=w.process.header_env, args=("import Mathlib\\n",)) for w in session.workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # the threads that forked the REPLs have exited
    time.sleep(0.3)
    root = session.start(Theorem("t", "theorem t : P", header="import Mathlib\\n"))
    assert isinstance(root, TacticState), root
    # keep both REPLs busy (a busy REPL never sees EOF on stdin, so only a kill stops it)
    busy = threading.Thread(target=session.run_tactics, args=([(root, "hang"), (root, "hang")],), daemon=True)
    busy.start()
    time.sleep(0.5)

    def tree(pid):
        pids, stack = [], [pid]
        while stack:
            p = stack.pop()
            pids.append(p)
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    stack.extend(int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split())
            except OSError:
                pass
        return pids

    pids = [p for w in session.workers for p in tree(w.process.pid)]
    print(json.dumps({"pids": pids, "alive": [w.process.alive for w in session.workers]}), flush=True)
    time.sleep(600)
    """
)


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper that may never come in a container."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _run_driver(tmp_path: Path, sandbox: str) -> tuple[subprocess.Popen[str], list[int]]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(DOUBLE), sandbox],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        pytest.fail(f"driver failed (exit {proc.wait()})")
    info = json.loads(line)
    assert info["alive"] == [True, True], "processes started from finished threads must stay alive"
    return proc, info["pids"]


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_repl_process_groups_die_with_the_prover(tmp_path: Path, sig: int, sandbox: str) -> None:
    if sandbox == "bwrap" and bwrap_problem():
        pytest.skip(f"no sandbox here: {bwrap_problem()}")
    proc, pids = _run_driver(tmp_path, sandbox)
    try:
        # per process: sh and the double, both busy, and the reaper (none) or bubblewrap's two processes
        assert len(pids) >= (6 if sandbox == "none" else 8) and not any(_gone(p) for p in pids)
        os.kill(proc.pid, sig)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(_gone(p) for p in pids):
            time.sleep(0.05)
        left = [p for p in pids if not _gone(p)]
        assert not left, f"still running after the driver died: {left}"
    finally:
        for p in pids:
            if not _gone(p):
                os.kill(p, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def test_reaper_passes_exit_status_and_stays_off_the_data_path() -> None:
    p = ReplProcess([sys.executable, str(DOUBLE)], ".", timeout_s=5)
    assert p.request({"cmd": "x"}).env == 0
    assert p.shutdown() == 0  # EOF on stdin reaches the REPL itself; its exit status comes back
    p = ReplProcess([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)"], ".")
    p.start()
    assert p._proc is not None and p._proc.wait(timeout=5) == -signal.SIGUSR1
    p.kill()


def test_exec_failure_is_a_start_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    script = tmp_path / "not_executable"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    with pytest.raises(ReplStartError, match="Permission denied|Errno 13"):
        ReplProcess([str(script)], ".").start()
