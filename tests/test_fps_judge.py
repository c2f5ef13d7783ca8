"""FPS proofs are decided by the judge (issue 19), not by the search session's ``verify``.

``attempt_theorem`` (the ground-truth proving run, D-FPS backward proving) and the offline re-judging of the
reference's released records used to read the verdict from the search session; a search session's answer is a
hint. Each test here fails with that old behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from prover.fps.check import FpsChecker
from prover.fps.problem import FpsProblem
from prover.fps.settings import SolverSettings
from prover.fps.solver import attempt_theorem, solve_problem
from prover.fps.statements import fps_theorem, proving_theorem
from prover.generation.fixed import FixedTacticGenerator
from prover.lean.doubles.session import WorldSession
from prover.lean.types import Theorem, Verdict
from prover.search.factory import make_searcher

TINY = Path(__file__).parent / "data" / "worlds" / "tiny.json"
T_ADD = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")
PROBLEM = {
    "id": "mod",
    "outros": [{"t": "answer = 2 ^ 2010 % 10", "name": "h_answer", "v": None}],
    "formal_answer": "answer = 4",
    "formal_answer_type": "ℕ",
}


class _Judge:
    """A judge that refuses everything and records what it was asked."""

    name = "test"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def judge(self, theorem: Any, proof: str, *, definition_names: Any = ()) -> Verdict:
        self.asked.append((theorem.name, proof))
        return Verdict(False, ("the judge says no",), "compile", judge=self.name)


class _Found:
    """A searcher that reports ``simp`` as proved, with its session's (hint) verdict."""

    def search(self, session: Any, generator: Any, theorem: Any, critic: Any = None) -> Any:
        return SimpleNamespace(proved=True, proof="simp", verdict=Verdict(True), error=None, status="proved")


def test_attempt_theorem_asks_the_judge_not_the_searchers_verdict() -> None:
    judge = _Judge()
    with WorldSession(TINY, real_sleep=False) as session:
        out = attempt_theorem(session, T_ADD, _Found(), None, judge=judge.judge)
    assert out["status"] == "failed" and "the judge says no" in out["reason"] and out["judge"] == "test"
    assert judge.asked == [("t_add", "simp")]


def test_attempt_theorem_with_a_front_door_but_another_searcher_asks_its_judge() -> None:
    """Overrides that are more than a budget (another searcher) search here; the front door's judge decides."""
    judge = _Judge()
    prover = SimpleNamespace(judge=judge.judge, attempt=None)
    with WorldSession(TINY, real_sleep=False) as session:
        out = attempt_theorem(session, T_ADD, _Found(), None, prover=prover, overrides={"name": "mcts"})
    assert out["status"] == "failed" and judge.asked == [("t_add", "simp")]


def test_attempt_theorem_without_a_judge_names_the_session_hint() -> None:
    with WorldSession(TINY, real_sleep=False) as session:
        out = attempt_theorem(session, T_ADD, _Found(), None)
    assert out["status"] == "proved" and out["judge"] == "session"


def _world(tmp_path: Path) -> Path:
    """The FPS statement (no solution: the solving search fails) and the ground-truth proving statement, which
    ``norm_num`` proves in the world."""
    problem = FpsProblem.model_validate(PROBLEM)
    world = {
        "theorems": [
            {"name": "fps_mod", "statement": fps_theorem(problem).statement, "goals": ["⊢ fps"]},
            {"name": "ftp_mod", "statement": proving_theorem(problem).statement, "goals": ["⊢ ftp"]},
        ],
        "goals": {
            "⊢ fps": {"apply Exists.intro": {"goals": ["case h\n⊢ ?w = 2 ^ 2010 % 10", "case w\n⊢ ℕ"]}},
            "⊢ ftp": {"norm_num": {"goals": []}},
        },
    }
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("with_judge", [False, True])
def test_the_ground_truth_proving_run_is_decided_by_the_checkers_judge(
    tmp_path: Path, with_judge: bool
) -> None:
    """``solve_problem`` hands the checker's judge (the front door's, for ``prover solve`` and ``/solve``) to
    the proving run: the paper's Proven counts only what the judge accepts."""
    session = WorldSession(_world(tmp_path), tactic_timeout_s=1.0, real_sleep=False)
    settings = SolverSettings(
        probe_rpe_tactics=False, preflight_formal_answers=False, normal_form_probe=False
    )
    judge = _Judge()
    checker = FpsChecker(session, settings, judge=judge.judge if with_judge else None)
    searcher = make_searcher({"name": "bfs", "max_expansions": 5, "num_sampled_tactics": 1})
    generator = FixedTacticGenerator([("norm_num", -0.1)])
    record = solve_problem(session, FpsProblem.model_validate(PROBLEM), searcher, generator, checker)
    assert record.status == "unsubmitted"  # the solving search found nothing; proving runs anyway
    if with_judge:
        assert record.proving["status"] == "failed" and not record.proven
        assert judge.asked == [("ftp_mod", "norm_num")] and record.proving["judge"] == "test"
    else:  # no judge given: the session's verify, named as such
        assert record.proven and record.proving["judge"] == "session"


def test_rejudging_asks_the_worlds_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline re-judging decides with the world's judge (``simulation``), never the search session's verify:
    a judge that refuses makes every record not proven, and each outcome names the judge."""
    import prover.fps.rejudge as rejudge

    sample = Path(__file__).parent / "data" / "fps_reference_sample"
    problems = rejudge.index_problems(sample / "data" / "formal_math500.jsonl")
    base = sample / "baseline_results" / "proof_search" / "sample"
    proving = rejudge.rejudge_file(base / "proving.formal_math500.jsonl", problems, tmp_path)
    solving = rejudge.rejudge_file(base / "solving.formal_math500.jsonl", problems, tmp_path)
    assert proving.ours["proven"] == 1 and proving.to_json()["judges"] == {"simulation": 1}
    assert set(solving.to_json()["judges"]) == {"simulation"}
    made: list[_Judge] = []

    def refusing(settings: Any, backend: Any) -> Any:
        assert settings == {"judge": "simulation"} and backend["name"] == "scripted"
        made.append(_Judge())
        made[-1].close = lambda: None  # type: ignore[attr-defined]
        return made[-1]

    monkeypatch.setattr(rejudge, "make_judge", refusing)
    proving = rejudge.rejudge_file(base / "proving.formal_math500.jsonl", problems, tmp_path)
    solving = rejudge.rejudge_file(base / "solving.formal_math500.jsonl", problems, tmp_path)
    assert proving.ours["proven"] == 0 and proving.lost and proving.to_json()["judges"] == {"test": 1}
    assert solving.ours["solved"] == 0 and any(j.asked for j in made)
