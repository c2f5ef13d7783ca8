"""A pool process told to die exits even when its worker's close() cannot finish (no orphaned workers)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

CHILD = r"""
import signal, sys, threading, time
import prover.evaluation.executors as ex

ex.EXIT_CLOSE_WAIT_S = 0.5
lock = threading.Lock()

class Stuck:
    def close(self):
        with lock:  # the main thread holds it "in the middle of a REPL request"
            pass

ex._PROCESS_WORKER = Stuck()
signal.signal(signal.SIGTERM, ex._exit_worker)
with lock:
    print("ready", flush=True)
    while True:
        time.sleep(0.05)
"""


def _exits_cleanly_on_sigterm(child: str) -> None:
    """Start ``child`` (Python source that prints ``ready``), send it one SIGTERM: it must exit 0 within 10 s."""
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_exits_although_close_would_deadlock() -> None:
    _exits_cleanly_on_sigterm(CHILD)


NESTED = r"""
import os, signal, sys, threading, time
import prover.evaluation.executors as ex

ex.EXIT_CLOSE_WAIT_S = 0.5
ex._PROCESS_WORKER = type("Closes", (), {"close": lambda self: None})()
sent = 0


def each_line(frame, event, arg):  # a new SIGTERM at every line of threading.py the handler runs
    global sent
    if event == "line" and sent < 50:
        sent += 1
        os.kill(os.getpid(), signal.SIGTERM)
    return each_line


def on_call(frame, event, arg):
    if frame.f_code.co_filename != threading.__file__ or frame.f_code.co_name == "is_set":
        return on_call
    f = frame
    while f is not None:
        if f.f_code is ex._exit_worker.__code__:
            return each_line
        f = f.f_back
    return None


signal.signal(signal.SIGTERM, ex._exit_worker)
sys.settrace(on_call)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def test_a_sigterm_inside_the_handler_returns_at_once_and_the_first_exits() -> None:
    """A second SIGTERM runs the handler again on top of the first, in the same thread (seen in CI: a pool
    process stuck for good, its handler nested three deep inside the ``Event.set`` of the old guard, whose lock
    the outer call held). Here SIGTERMs keep arriving while the handler runs threading code: every nested call
    must return and the process exit. (This timing did not reproduce the CI hang with the old guard; the
    py-spy stack of the stuck process did.)"""
    _exits_cleanly_on_sigterm(NESTED)
