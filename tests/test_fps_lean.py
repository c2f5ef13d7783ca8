"""The FPS layer on a real Lean REPL (run `make lean` first): prelude, pruning, the extraction metaprogram, the
substituted recompile and RPE. Skipped without a Lean toolchain."""

from __future__ import annotations

import pytest

from prover.config import compose
from prover.fps.check import FpsChecker
from prover.fps.prelude import FpsSession, open_problem
from prover.fps.problem import FpsProblem
from prover.fps.settings import SolverSettings
from prover.lean.factory import make_session
from prover.lean.types import ProofFinished, TacticState

pytestmark = [pytest.mark.lean, pytest.mark.slow]

PROBLEM = FpsProblem.model_validate(
    {
        "id": "lean_add",
        "intros": [{"t": "ℕ", "name": "k", "v": None}],
        "outros": [
            {"t": "k = 2", "name": "hk", "v": None},
            {"t": "answer + 1 = 10", "name": "h_answer", "v": None},
        ],
        "formal_answer": "@Eq Nat answer (@OfNat.ofNat Nat (nat_lit 9) (instOfNatNat (nat_lit 9)))",
        "formal_answer_type": "ℕ",
    }
)


@pytest.fixture(scope="module")
def session(repo_root):
    cfg = compose(["backend=repl", "backend.pool_size=1", "backend.tactic_timeout_s=60"]).backend
    if not (repo_root / str(cfg.project_dir) / ".lake" / "packages" / "REPL").is_dir():
        pytest.skip("the REPL is not built (run `make lean`)")
    with make_session(cfg) as s:
        yield s


def test_prelude_gives_the_main_goal_then_the_answer_goal(session):
    opened = open_problem(session, PROBLEM)
    assert isinstance(opened.state, TacticState) and len(opened.state.goals) == 2
    assert opened.answer_goal.startswith("case w") and opened.answer_goal.endswith("⊢ ℕ")
    assert "hk" not in opened.answer_goal  # the answer's context holds the intros only


def test_unification_then_pruning_then_extraction_and_rpe(session):
    fps = FpsSession(session, PROBLEM)
    root = fps.start(fps.theorem)
    assert isinstance(root, TacticState)
    done = fps.run_tactic(root, "rfl")  # `?w + 1 = 10` by unification: ?w := 9
    assert isinstance(done, ProofFinished), done
    checker = FpsChecker(session, SolverSettings())
    check = checker.final_check(PROBLEM, ["rfl"])
    assert check.status == "solved", check.reason
    assert check.reparsed and check.answer is not None and "9" in check.answer
    assert check.verdict is not None and check.verdict.accepted
    assert "rw_search" in checker.dropped_tactics or "rw_search" in check.rpe.tactics


def test_rpe_and_preflight(session):
    checker = FpsChecker(session, SolverSettings())
    assert checker.rpe(PROBLEM, "9").correct
    assert checker.rpe(PROBLEM, "4 + 5").correct
    assert not checker.rpe(PROBLEM, "8").correct
    assert checker.preflight(PROBLEM) is None
    assert checker.normal_form(PROBLEM, "9") is True
    assert checker.normal_form(PROBLEM, "4 + 5") is False
