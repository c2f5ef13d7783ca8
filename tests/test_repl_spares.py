"""Warm spares per header (``prover.lean.spares``) and the header key read with the lexer (``header_key``).

The pool runs ``prover.lean.doubles.pool_repl``, a REPL double whose import sleeps (Mathlib's import, scaled
down) and whose ``hang`` command never answers (a looping tactic), through the real ``ReplSession``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from prover.lean.header_key import header_key, shared_fraction
from prover.lean.repl_backend import ReplSession
from prover.lean.repl_process import ReplProcess, ReplTimeout, tree_rss_mb
from prover.lean.spares import SparePool

REPO = Path(__file__).resolve().parents[1]
IMPORT_S = 1.5


def _double(import_s: float = IMPORT_S) -> list[str]:
    return [sys.executable, "-m", "prover.lean.doubles.pool_repl", "--import-s", str(import_s)]


def _session(spares: int, import_s: float = IMPORT_S, sandbox: str = "none") -> ReplSession:
    return ReplSession(
        {
            "command": _double(import_s),
            "project_dir": str(REPO),
            "pool_size": 1,
            "tactic_timeout_s": 0.3,
            "start_timeout_s": 20,
            "sandbox": sandbox,
            "warm_spares": spares,
            "header": "import Mathlib\n",
        }
    )


def _wait_ready(session: ReplSession, limit_s: float = 15.0) -> None:
    assert session.spares is not None
    deadline = time.monotonic() + limit_s
    while session.spares.counts()["ready"] < session.spares.per_header:
        assert time.monotonic() < deadline, session.spares.counts()
        time.sleep(0.05)


def _after_timeout(session: ReplSession) -> float:
    """Seconds from a timed-out command to the next answer on the same header."""
    with pytest.raises(ReplTimeout):
        session.run_command("hang", timeout=0.3)
    started = time.monotonic()
    response = session.run_command("example : True := trivial", timeout=20)
    assert response.ok
    return time.monotonic() - started


# --- the header key -----------------------------------------------------------------------------------
def test_comments_open_lines_and_order_do_not_change_the_key() -> None:
    plain = header_key("import Mathlib\nimport Aesop\nopen Real\n")
    noisy = header_key(
        "/- a header\n import Evil -/\nimport Aesop -- the tactic\nimport   Mathlib\nimport Aesop\n\n"
        "open Nat Topology\nset_option maxHeartbeats 400000\nnamespace Foo\n"
    )
    assert plain.imports == noisy.imports == ("import Aesop", "import Mathlib")
    assert noisy.rest == "open Nat Topology\nset_option maxHeartbeats 400000\nnamespace Foo"
    assert not noisy.textual


def test_the_header_ends_where_the_imports_do() -> None:
    key = header_key('module\npublic import Mathlib.Tactic\nimport all Foo\nopen Real\n#eval "import X"\n')
    assert key.imports == ("module", "import all Foo", "public import Mathlib.Tactic")
    assert key.rest.startswith("open Real") and "import X" in key.rest  # a string is not an import
    # `import` after a command is not an import Lean would read into the header
    assert header_key("open Real\nimport Mathlib\n").imports == ()
    # a different import set is a different key: no process shares an environment it lacks
    assert header_key("import Mathlib").imports != header_key("import Mathlib.Tactic").imports


def test_text_the_lexer_refuses_falls_back_to_lines() -> None:
    key = header_key("import Mathlib\nopen Real\t-- tab\n")
    assert key.textual and key.imports == ("import Mathlib",) and key.rest.startswith("open Real")


def test_headers_that_differ_only_in_comments_opens_and_order_share_one_import() -> None:
    process = ReplProcess(_double(0.0), REPO, timeout_s=5)
    try:
        first = process.header_env("import Mathlib\nimport Aesop\nopen Real\n")
        sent = process.commands_sent
        second = process.header_env("-- another file\nimport Aesop\n/- -/ import Mathlib\nopen Nat\n")
        assert process.commands_sent == sent + 1  # only `open Nat`: the import env was reused
        assert first != second
        process.header_env("import Aesop\nimport Mathlib\nopen Real")
        assert process.commands_sent == sent + 1  # the whole header is known
    finally:
        process.kill()


def test_shared_fraction_counts_processes_by_key_not_text() -> None:
    headers = ["import Mathlib\nopen Real\n", "import Mathlib\nopen Nat\n", "-- x\nimport Mathlib\n"]
    figures = shared_fraction(headers)
    assert figures["distinct_text"] == 3 and figures["distinct_keys"] == 1
    assert figures["hit_rate_key"] == pytest.approx(2 / 3) and figures["hit_rate_text"] == 0


# --- warm spares --------------------------------------------------------------------------------------
def test_a_timeout_is_answered_by_a_warm_spare_without_the_import() -> None:
    session = _session(spares=1)
    try:
        session.warm_up()
        _wait_ready(session)
        generation = session.workers[0].process.generation
        elapsed = _after_timeout(session)
        process = session.workers[0].process
        assert elapsed < IMPORT_S / 3, elapsed  # the spare had imported already
        assert process.adopted == 1 and process.generation == generation + 1  # old states are dead
        assert session.spares is not None and session.spares.taken == 1
        _wait_ready(session)  # a new spare imported in the background
    finally:
        session.close()


def test_without_spares_the_next_answer_pays_the_import() -> None:
    session = _session(spares=0)
    try:
        session.warm_up()
        assert session.spares is None
        assert _after_timeout(session) >= IMPORT_S
    finally:
        session.close()


def test_a_restart_waits_for_a_spare_that_is_still_importing() -> None:
    session = _session(spares=1, import_s=2.0)
    try:
        session.warm_up()  # the spare starts importing now
        time.sleep(1.0)
        elapsed = _after_timeout(session)
        assert elapsed < 2.0, elapsed  # less than a fresh import: the spare was half-way
        assert session.workers[0].process.adopted == 1
    finally:
        session.close()


def test_close_kills_every_spare() -> None:
    session = _session(spares=2, import_s=0.2)
    session.warm_up()
    _wait_ready(session)
    assert session.spares is not None
    pids = [p.pid for procs in session.spares._ready.values() for p in procs]
    assert len(pids) == 2 and all(pids)
    session.close()
    time.sleep(0.2)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_spares_run_in_the_sandbox_too() -> None:
    from prover.lean.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(f"no sandbox here: {bwrap_problem()}")
    session = _session(spares=1, import_s=0.5, sandbox="bwrap")
    try:
        session.warm_up()
        _wait_ready(session)
        assert _after_timeout(session) < 0.5
    finally:
        session.close()


def test_memory_recycling_stays_bounded_and_restarts_from_spares() -> None:
    """Sustained load through a double whose memory grows 2 MB per command: the RSS cap retires the process
    (memory stays bounded), and each replacement is a warm spare, so no restart pays the import."""
    command = [*_double(0.5), "--grow-kb", "2048"]
    process = ReplProcess(command, REPO, timeout_s=10, start_timeout_s=20, max_rss_mb=60)
    pool = SparePool(lambda: ReplProcess(command, REPO, timeout_s=10, start_timeout_s=20), 1, wait_s=20)
    process.spares = pool
    peak = 0.0
    try:
        process.header_env("import Mathlib")
        for i in range(80):
            while pool.counts()["ready"] < 1:  # steady state: the replacement spare has imported
                time.sleep(0.02)
            assert process.request({"tactic": "skip", "proofState": i}).ok
            if process.pid:
                peak = max(peak, tree_rss_mb(process.pid))
        assert process.restarts >= 2 and process.adopted == process.restarts
        assert peak <= 60 + 2 * 2.5  # the cap plus the last command's growth
    finally:
        process.kill()
        pool.close()


def test_close_does_not_wait_out_a_request_in_flight() -> None:
    """A request that holds its process (a tactic that never answers, timeout 30 s) does not hold the close:
    ``ReplSession.close`` SIGKILLs that process group after ``CLOSE_LOCK_WAIT_S``, the request ends at once as a
    crash (fail-closed), and no REPL process is left."""
    import threading

    from prover.lean.repl_backend import CLOSE_LOCK_WAIT_S
    from prover.lean.repl_process import ReplFailure

    session = _session(spares=0, import_s=0.0)
    assert session.run_command("example : True := trivial", timeout=20).ok
    pid = session.workers[0].process.pid
    assert pid is not None
    outcome: list[BaseException | None] = []

    def hang() -> None:
        try:
            session.run_command("hang", timeout=30)
            outcome.append(None)
        except BaseException as exc:  # the test reads what the request ended with
            outcome.append(exc)

    thread = threading.Thread(target=hang)
    thread.start()
    deadline = time.monotonic() + 10
    while not session.workers[0].lock.locked():  # the request holds its process
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)
    started = time.monotonic()
    session.close()
    took = time.monotonic() - started
    thread.join(10)
    assert not thread.is_alive()
    assert took < 2 * CLOSE_LOCK_WAIT_S + 2.0, took  # not the request's 30 s
    assert len(outcome) == 1 and isinstance(outcome[0], ReplFailure), outcome
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
