"""DojoSession against a fake ``lean_dojo`` (injected into sys.modules) that mimics the real classes,
including the known problem that a Dojo times out on every tactic after its first timeout."""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import pytest

from prover.lean.types import Crash, ProofFinished, TacticError, TacticState, Theorem, Timeout

ROOT = "n : ℕ\n⊢ n + 0 = n"
TABLE = {  # (state pp, tactic) -> result pp ("" = proof finished) or an exception name / LeanError text
    (ROOT, "induction n"): "⊢ 0 + 0 = 0\n\nn : ℕ\n⊢ n + 1 + 0 = n + 1",
    ("⊢ 0 + 0 = 0\n\nn : ℕ\n⊢ n + 1 + 0 = n + 1", "rfl"): "n : ℕ\n⊢ n + 1 + 0 = n + 1",
    ("n : ℕ\n⊢ n + 1 + 0 = n + 1", "simp"): "",
    (ROOT, "simp"): "",
    (ROOT, "slow"): "TIMEOUT",
    (ROOT, "boom"): "CRASH",
    (ROOT, "sorry"): "GIVEUP",
}


def make_fake_lean_dojo() -> types.ModuleType:
    mod = types.ModuleType("lean_dojo")

    class DojoTacticTimeoutError(Exception):
        pass

    class DojoCrashError(Exception):
        pass

    @dataclass(frozen=True)
    class TacticState:
        pp: str
        id: int = field(compare=False)
        message: str | None = field(default=None, compare=False)

    @dataclass(frozen=True)
    class ProofFinished:
        tactic_state_id: int
        message: str | None = None

    @dataclass(frozen=True)
    class ProofGivenUp:
        pass

    @dataclass(frozen=True)
    class LeanError:
        error: str

    @dataclass(frozen=True)
    class LeanGitRepo:
        url: str
        commit: str

    @dataclass(frozen=True)
    class LeanTheorem:
        repo: LeanGitRepo
        file_path: object
        full_name: str

    class Dojo:
        opened: list = []

        def __init__(self, entry: LeanTheorem, timeout: int = 600) -> None:
            self.entry, self.timeout, self.timed_out, self.closed, self.next_id = (
                entry,
                timeout,
                False,
                False,
                1,
            )
            self.calls: list[str] = []

        def __enter__(self):
            if self.entry.full_name != "t_add":
                raise RuntimeError(f"theorem {self.entry.full_name} not found")
            Dojo.opened.append(self)
            return self, TacticState(ROOT, 0)

        def __exit__(self, *exc: object) -> None:
            self.closed = True

        def run_tac(self, state: TacticState, tactic: str):
            assert not self.closed
            self.calls.append(tactic)
            if self.timed_out:
                raise DojoTacticTimeoutError()  # the known LeanDojo problem
            out = TABLE.get((state.pp, tactic))
            if out == "TIMEOUT":
                self.timed_out = True
                raise DojoTacticTimeoutError()
            if out == "CRASH":
                raise DojoCrashError("Unexpected EOF")
            if out == "GIVEUP":
                return ProofGivenUp()
            if out is None:
                return LeanError(f"unknown tactic {tactic}")
            self.next_id += 1
            return ProofFinished(self.next_id) if out == "" else TacticState(out, self.next_id)

    mod.DojoTacticTimeoutError = DojoTacticTimeoutError
    mod.DojoCrashError = DojoCrashError
    mod.TacticState = TacticState
    mod.ProofFinished = ProofFinished
    mod.ProofGivenUp = ProofGivenUp
    mod.LeanError = LeanError
    mod.LeanGitRepo = LeanGitRepo
    mod.Theorem = LeanTheorem
    mod.Dojo = Dojo
    return mod


CFG = {
    "name": "dojo",
    "repo_url": "https://example.org/repo",
    "commit": "abc",
    "file_path": "A.lean",
    "tactic_timeout_s": 5,
}
THM = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    mod = make_fake_lean_dojo()
    monkeypatch.setitem(__import__("sys").modules, "lean_dojo", mod)
    return mod


def test_tactics_map_to_session_results(fake: types.ModuleType) -> None:
    from prover.lean.dojo_backend import DojoSession

    session = DojoSession(CFG)
    root = session.start(THM)
    assert isinstance(root, TacticState) and root.goals == (ROOT,)
    split = session.run_tactic(root, "induction n")
    assert isinstance(split, TacticState) and len(split.goals) == 2
    assert isinstance(session.run_tactic(root, "nonsense"), TacticError)
    gave_up = session.run_tactic(root, "sorry")  # refused by the guard before LeanDojo sees it
    assert isinstance(gave_up, TacticError) and gave_up.rejected_by_guard
    assert isinstance(session.run_tactic(root, "simp"), ProofFinished)
    session.close()
    assert all(d.closed for d in fake.Dojo.opened)


def test_timeout_restarts_the_dojo_and_replays_paths(fake: types.ModuleType) -> None:
    from prover.lean.dojo_backend import DojoSession

    session = DojoSession(CFG)
    root = session.start(THM)
    split = session.run_tactic(root, "induction n")
    one = session.run_tactic(split, "rfl")
    assert isinstance(one, TacticState)
    assert isinstance(session.run_tactic(root, "slow"), Timeout)
    first = fake.Dojo.opened[0]
    assert first.closed
    done = session.run_tactic(one, "simp")  # needs a new Dojo and the replay of induction n, rfl
    assert isinstance(done, ProofFinished) and done.path == ("induction n", "rfl", "simp")
    assert len(fake.Dojo.opened) == 2 and fake.Dojo.opened[1].calls == ["induction n", "rfl", "simp"]


def test_crash_and_unknown_theorem(fake: types.ModuleType) -> None:
    from prover.lean.dojo_backend import DojoSession

    session = DojoSession(CFG)
    root = session.start(THM)
    assert isinstance(session.run_tactic(root, "boom"), Crash)
    assert isinstance(session.run_tactic(root, "simp"), ProofFinished)
    missing = session.start(Theorem("other", "theorem other : True"))
    assert isinstance(missing, TacticError) and "not found" in missing.messages[0]


def test_verify_replays_the_script(fake: types.ModuleType) -> None:
    from prover.lean.dojo_backend import DOJO_VERIFY_NOTE, DojoSession

    session = DojoSession(CFG)
    assert session.verify(THM, "simp").reasons == (DOJO_VERIFY_NOTE,)
    assert not session.verify(THM, "sorry").accepted
    assert not session.verify(THM, "nonsense").accepted


def test_a_floating_commit_is_refused_by_the_session_too(fake: types.ModuleType) -> None:
    from prover.lean.dojo_backend import DojoSession

    with pytest.raises(ValueError, match="backend.commit"):
        DojoSession({"repo_url": "u", "commit": "main", "file_path": "A.lean"})


def test_missing_config_is_a_clear_error(fake: types.ModuleType) -> None:
    from prover.lean.dojo_backend import DojoSession

    with pytest.raises(ValueError, match="backend.repo_url"):
        DojoSession({"name": "dojo", "commit": "x", "file_path": "A.lean"})


@pytest.mark.lean
def test_real_lean_dojo_minif2f() -> None:  # needs network, a toolchain and a long trace
    from prover.lean.dojo_backend import DojoSession

    session = DojoSession(
        {
            "repo_url": "https://github.com/yangky11/miniF2F-lean4",
            "commit": "5746b7d6c47855ce1294bed87329618ff7f1bc31",  # pinned, as configs/backend/dojo.yaml
            "file_path": "MiniF2F/Valid.lean",
            "tactic_timeout_s": 60,
        }
    )
    thm = Theorem("mathd_algebra_478", "theorem mathd_algebra_478")
    root = session.start(thm)
    assert isinstance(root, TacticState)
    assert isinstance(session.run_tactic(root, "nonexistent_tactic_xyz"), TacticError)
    session.close()
