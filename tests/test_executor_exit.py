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


def test_sigterm_exits_although_close_would_deadlock() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
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
