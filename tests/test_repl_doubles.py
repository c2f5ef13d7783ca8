"""The REPL client against misbehaving REPL doubles: crashes, hangs, garbage, split/huge/non-UTF-8 answers."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from prover.lean.repl_backend import ReplSession
from prover.lean.repl_process import ReplCrash, ReplProcess, ReplStartError, ReplTimeout
from prover.lean.types import Crash, ProofFinished, TacticError, TacticState, Theorem, Timeout

DOUBLE = Path(__file__).parent / "doubles" / "misbehaving_repl.py"
THM = Theorem("t", "theorem t : P", header="import Mathlib\n")


def _process(**kw) -> ReplProcess:
    return ReplProcess([sys.executable, str(DOUBLE)], ".", timeout_s=kw.pop("timeout_s", 5.0), **kw)


def _tactic(p: ReplProcess, tactic: str, state: int = 0):
    return p.request({"tactic": tactic, "proofState": state})


def test_crash_mid_answer_is_reported_and_the_process_restarts():
    p = _process()
    p.request({"cmd": "import Mathlib"})
    gen = p.generation
    with pytest.raises(ReplCrash, match="exited with code 3"):
        _tactic(p, "crash")
    assert _tactic(p, "ok").goals == ("⊢ after ok",)
    assert p.generation == gen + 1 and p.restarts == 1
    p.kill()


def test_hang_times_out_then_the_next_command_works():
    p = _process(timeout_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(ReplTimeout):
        _tactic(p, "hang")
    assert time.monotonic() - t0 < 3
    assert _tactic(p, "ok").ok
    p.kill()


def test_garbage_output_is_a_crash_not_an_exception_leak():
    p = _process()
    with pytest.raises(ReplCrash, match="not JSON"):
        _tactic(p, "garbage")
    assert _tactic(p, "ok").ok


def test_answer_split_across_writes_with_pauses():
    p = _process()
    assert _tactic(p, "split").goals == ("⊢ split",)
    assert _tactic(p, "ok").proof_state == 1  # the framing did not lose or merge answers
    p.kill()


def test_huge_answer_arrives_whole():
    p = _process(timeout_s=30)
    resp = _tactic(p, "huge")
    assert len(resp.goals[0]) == 20_000_002
    assert _tactic(p, "ok").ok
    p.kill()


def test_non_utf8_bytes_are_replaced_and_the_session_carries_on():
    p = _process()
    resp = _tactic(p, "badbyte")
    assert resp.goals == ("\ufffd\ufffd ⊢ bad",)
    assert _tactic(p, "ok").ok
    p.kill()


def test_silent_exit_is_a_crash_with_stderr_in_the_reason():
    p = _process()
    with pytest.raises(ReplCrash, match="exited with code 0"):
        _tactic(p, "exit")
    broken = ReplProcess([sys.executable, str(DOUBLE), "--crash-on-start"], ".", timeout_s=5)
    with pytest.raises(ReplCrash, match="cannot load Mathlib"):
        broken.request({"cmd": "import Mathlib"})


def test_missing_binary_is_a_start_error():
    with pytest.raises(ReplStartError, match="cannot start"):
        ReplProcess(["/nonexistent/repl"], ".").request({"cmd": "x"})


def test_restart_every_and_memory_cap():
    p = _process(restart_every=3)
    for _ in range(3):
        _tactic(p, "ok")
    gen = p.generation
    _tactic(p, "ok")
    assert p.generation == gen + 1
    p.kill()
    p = _process(max_rss_mb=150)
    pid = p.request({"cmd": "x"}) and p.pid
    assert _tactic(p, "grow").ok  # the answer is delivered, then the bloated process is retired
    assert not p.alive
    _tactic(p, "ok")
    assert p.pid != pid
    p.kill()


def _session(pool_size: int = 1, timeout: float = 1.0) -> ReplSession:
    session = ReplSession(
        {
            "command": [sys.executable, str(DOUBLE)],
            "pool_size": pool_size,
            "tactic_timeout_s": timeout,
            "start_timeout_s": 10,
        }
    )
    session.tactic_guard = lambda tactic: []  # the guard has its own tests; here every tactic must reach Lean
    return session


def test_session_turns_failures_into_results_and_rebuilds_states():
    with _session() as s:
        root = s.start(THM)
        assert isinstance(root, TacticState) and root.goals == ("⊢ P",)
        a = s.run_tactic(root, "step1")
        assert isinstance(a, TacticState) and a.path == ("step1",)
        assert isinstance(s.run_tactic(a, "hang"), Timeout)
        # the process restarted: `a` lives on only through its path, which the session replays
        b = s.run_tactic(a, "step2")
        assert isinstance(b, TacticState) and b.goals == ("⊢ after step2",) and b.path == ("step1", "step2")
        assert isinstance(s.run_tactic(b, "crash"), Crash)
        assert isinstance(s.run_tactic(b, "garbage"), Crash)
        assert isinstance(s.run_tactic(b, "done"), ProofFinished)
        assert s.restarts == 3


def test_pool_runs_a_batch_concurrently_and_one_hang_blocks_nobody():
    with _session(pool_size=2, timeout=1.5) as s:
        root = s.start(THM)
        t0 = time.monotonic()
        results = s.run_tactics([(root, "hang"), (root, "a"), (root, "b"), (root, "c")])
        elapsed = time.monotonic() - t0
        assert isinstance(results[0], Timeout)
        assert [r.goals for r in results[1:]] == [("⊢ after a",), ("⊢ after b",), ("⊢ after c",)]
        assert elapsed < 2.5  # the other steps ran on the second process while the first hung
        assert {r.handle.process for r in results[1:]} == {1}  # stolen from the hung process


def test_session_reports_start_errors_as_results():
    session = ReplSession({"command": ["/nonexistent/repl"], "pool_size": 1})
    session.tactic_guard = lambda tactic: []
    result = session.start(THM)
    assert isinstance(result, TacticError) and "cannot start" in result.messages[0]
    session.close()


def test_session_over_a_real_style_transcript():
    transcripts = Path(__file__).parent / "data" / "transcripts"
    argv = [
        sys.executable,
        "-m",
        "prover.lean.doubles.replay",
        str(transcripts / "session_add_zero.in"),
        str(transcripts / "session_add_zero.expected.out"),
    ]
    session = ReplSession(
        {"command": argv, "pool_size": 1, "header": "import Mathlib\n", "tactic_timeout_s": 10}
    )
    session.tactic_guard = lambda tactic: []
    with session:
        thm = Theorem("add_zero'", "theorem add_zero' (n : ℕ) : n + 0 = n")
        root = session.start(thm)
        assert isinstance(root, TacticState) and root.goals == ("n : ℕ\n⊢ n + 0 = n",)
        split = session.run_tactic(root, "induction n")
        assert isinstance(split, TacticState) and split.goals[0] == "case zero\n⊢ 0 + 0 = 0"
        failed = session.run_tactic(split, "linarith [foo]")  # error recovery: goals [] + error -> failure
        assert isinstance(failed, TacticError) and "Unknown identifier `foo`" in failed.messages[0]
        zero_done = session.run_tactic(split, "rfl")
        assert isinstance(zero_done, TacticState) and len(zero_done.goals) == 1
        finished = session.run_tactic(zero_done, "simp")
        assert isinstance(finished, ProofFinished) and finished.path == ("induction n", "rfl", "simp")


def test_factory_builds_backends_and_rejects_unknown_names(tmp_path):
    from prover.lean.factory import make_session

    with pytest.raises(ValueError, match="unknown Lean backend 'nope'"):
        make_session({"name": "nope"})
    with pytest.raises(ValueError, match="world file not found"):
        make_session({"name": "scripted", "world": str(tmp_path / "none.json")})
    with pytest.raises(ValueError, match="argv"):
        make_session({"name": "repl", "command": "lake env repl"})
    session = make_session({"name": "repl", "command": [sys.executable, str(DOUBLE)], "pool_size": "auto"})
    assert isinstance(session, ReplSession) and len(session.workers) >= 1
    session.close()


def test_header_imports_are_elaborated_once_and_open_lines_on_top():
    from prover.lean.header_key import header_key

    key = header_key("import Mathlib\nimport Aesop\n\nopen Real\nset_option maxHeartbeats 400000\n")
    assert (key.import_text, key.rest) == (
        "import Aesop\nimport Mathlib",  # read with the lexer: sorted, unique
        "open Real\nset_option maxHeartbeats 400000",
    )
    p = _process()
    base = p.header_env("import Mathlib\n")
    with_open = p.header_env("import Mathlib\nopen Real")
    sent = p.commands_sent
    assert base == 0 and with_open == 1 and sent == 2  # `open Real` went on top of the cached import env
    assert p.header_env("import Mathlib\nopen Real") == with_open and p.commands_sent == sent
    p.kill()
    assert p.header_env("import Mathlib\nopen Real") == 1 and p.generation == 2  # re-elaborated after restart
    p.kill()


def test_run_command_elaborates_on_the_theorem_header():
    with _session() as s:
        resp = s.run_command("theorem u : Q := by sorry", header="import Mathlib\nopen Nat")
        assert resp.ok and resp.sorries[0].goal == "⊢ P" and resp.env == 2
        runner = s.command_runner("import Mathlib\nopen Nat")
        assert runner("example : True := trivial").env == 3  # header env reused: no new header commands


def test_deep_states_migrate_to_idle_processes_by_replaying_their_path():
    with _session(pool_size=2, timeout=5.0) as s:
        root = s.start(THM)
        deep = s.run_tactic(s.run_tactic(root, "a"), "b")
        assert isinstance(deep, TacticState) and deep.path == ("a", "b")
        home = deep.handle.process
        results = s.run_tactics([(deep, f"nap{i}") for i in range(6)] + [(deep, "done")])
        assert all(
            isinstance(r, TacticState) and r.path == ("a", "b", f"nap{i}") for i, r in enumerate(results[:6])
        )
        assert isinstance(results[6], ProofFinished) and results[6].path == ("a", "b", "done")
        used = {r.handle.process for r in results[:6]}
        assert used == {0, 1} and home in used  # the idle process rebuilt `deep` once and took a share
        assert [r.goals for r in results[:6]] == [(f"⊢ after nap{i}",) for i in range(6)]


def test_repl_config_validation_names_the_field():
    from prover.lean.repl_backend import ReplConfig, auto_pool_size

    with pytest.raises(ValueError, match="pool_size"):
        ReplConfig.from_mapping({"command": ["repl"], "pool_size": 0})
    with pytest.raises(ValueError, match="tactic_timeout_s"):
        ReplConfig.from_mapping({"command": ["repl"], "tactic_timeout_s": 0})
    cfg = ReplConfig.from_mapping({"command": ["repl"], "pool_size": "auto", "max_rss_mb": 8000})
    assert cfg.pool_size == auto_pool_size(reserve=cfg.warm_spares) >= 1 and cfg.max_rss_mb == 8000.0
    assert auto_pool_size(reserve=1) <= auto_pool_size()  # a warm spare's memory comes off the pool


def test_one_mapping_of_repl_failures_to_results() -> None:
    assert ReplTimeout(2.5).as_result() == Timeout(2.5)
    assert isinstance(ReplCrash("garbage").as_result(), Crash)
    # a REPL that cannot start: the theorem cannot be opened (start), the state is gone (a step)
    assert isinstance(ReplStartError("no repl").as_result(starting=True), TacticError)
    assert isinstance(ReplStartError("no repl").as_result(), Crash)
