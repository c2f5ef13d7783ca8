"""The FPS layer on a real Lean REPL (run `make lean` first): prelude, pruning, the extraction metaprogram, the
substituted recompile and RPE. Skipped without a Lean toolchain."""

from __future__ import annotations

import pytest

from prover.config import compose
from prover.fps.check import FpsChecker
from prover.fps.prelude import FpsSession, open_problem
from prover.fps.problem import FpsProblem
from prover.fps.settings import SolverSettings
from prover.fps.statements import lean_header
from prover.lean.factory import make_session
from prover.lean.types import ProofFinished, TacticState, Theorem

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


SUCC = FpsProblem.model_validate(
    {
        "id": "lean_succ",
        "intros": [{"t": "ℕ", "name": "k", "v": None}],
        "outros": [{"t": "answer = k + 1", "name": "h_answer", "v": None}],
        "formal_answer": "answer = k + 1",
        "formal_answer_type": "ℕ",
    }
)


def test_whole_proof_answer_is_read_at_the_statement_binders(session):
    """A whole proof that names its intro ``m`` and restates the goal with ``show`` (an ``id`` around the
    ``Exists.intro``): the metaprogram opens the statement's own binders, so the answer speaks of ``k``."""
    checker = FpsChecker(session, SolverSettings())
    proof = ["intro m", "show ∃ answer : ℕ, answer = m + 1", "exact ⟨m + 1, rfl⟩"]
    check = checker.final_check(SUCC, proof, whole_proof=True)
    assert check.intros == ("k",) and check.reparsed, check.reason
    assert check.answer is not None and "k" in check.answer
    assert check.status == "solved", check.reason


def test_rpe_probe_keeps_the_tactics_that_close_true(session):
    """``norm_num`` and ``aesop`` close the probe's ``True`` themselves; they must not be dropped."""
    checker = FpsChecker(session, SolverSettings())
    kept = checker.rpe_tactics(lean_header(PROBLEM))
    assert {"rfl", "norm_num", "ring_nf", "aesop"} <= set(kept), checker.dropped_tactics


def test_a_contradiction_probe_is_one_repl_tactic(session):
    """The REPL's tactic mode parses ONE tactic: ``exfalso <;> omega`` runs, ``exfalso; omega`` does not parse
    (leanprover-community/repl#43), so the synthesis' contradiction probes are written with ``<;>``."""
    thm = Theorem("lean_contra", "theorem lean_contra (x : ℕ) (h1 : x < 2) (h2 : x > 5) : x = 7")
    root = session.start(thm)
    assert isinstance(root, TacticState)
    assert isinstance(session.run_tactic(root, "exfalso <;> omega"), ProofFinished)
    assert not isinstance(session.run_tactic(root, "exfalso; omega"), ProofFinished)


CONJ = FpsProblem.model_validate(
    {
        "id": "lean_conj",
        "intros": [],
        "outros": [{"t": "answer + 1 = 10 ∧ answer < 20", "name": "h_answer", "v": None}],
        "formal_answer": "answer = 9",
        "formal_answer_type": "ℕ",
    }
)


def test_answer_goal_first_with_pick_goal(session):
    """``answer_goal=first``: the session opens with ``pick_goal``, ``exact 9`` gives the answer and Lean
    instantiates ``?w`` in the main goal; the substituted recompile drops both steering and answer steps."""
    fps = FpsSession(session, PROBLEM, answer_goal="first")
    root = fps.start(fps.theorem)
    assert isinstance(root, TacticState) and fps.opened is not None
    assert root.goals[0] == fps.opened.answer_goal and len(root.goals) == 2
    chosen = fps.run_tactic(root, "exact 9")
    assert isinstance(chosen, TacticState) and len(chosen.goals) == 1 and "?w" not in chosen.goals[0]
    check = FpsChecker(session, SolverSettings(answer_goal="first")).final_check(PROBLEM, ["exact 9", "rfl"])
    assert check.status == "solved", check.reason
    assert "pick_goal" not in check.proof and "exact 9" not in check.proof


def test_assigned_answer_goal_is_pruned_while_another_goal_is_open(session):
    """``refine ⟨rfl, ?_⟩`` assigns ``?w`` in one conjunct; the REPL still lists the answer goal, the session
    drops it at once (no goal mentions ``?w``), and ``focus_answer`` has nothing to focus."""
    fps = FpsSession(session, CONJ)
    root = fps.start(fps.theorem)
    assert isinstance(root, TacticState) and any("?w" in g for g in root.goals)
    mid = fps.run_tactic(root, "refine ⟨rfl, ?_⟩")
    assert isinstance(mid, TacticState) and len(mid.goals) == 1 and fps.prunes == 1, mid
    assert "9 < 20" in mid.goals[0]
    assert fps.focus_answer(mid) is mid
    assert isinstance(fps.run_tactic(mid, "norm_num"), ProofFinished)
