"""PutnamBench "find the answer" through a whole run: the worker hands the problem's answer holes to the judge,
so a proof with the right hole value is proved and one with a wrong value is not (on a scripted world, judged
by simulation under comparator's hole contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.evaluation.benchmarks import Problem, load_path
from prover.evaluation.runner import ProblemWorker
from prover.generation.fixed import FixedTacticGenerator
from prover.generation.profiles import ProofSample, SampleBatch, with_hole_definitions
from prover.lean.types import Theorem
from prover.search.status import ProofStatus
from prover.theorem_prover import TheoremProver

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "putnambench-sample.jsonl"
HOLE = "putnam_sample_1991_b2_solution"


class Answers(FixedTacticGenerator):
    """A whole-proof model that answers every sample with ``answer`` (no repair turns)."""

    def __init__(self, answer: str) -> None:
        super().__init__([("unused", 0.0)])
        self.answer = answer

    def sample_proofs(self, theorem: Theorem, n: int) -> SampleBatch:
        return SampleBatch((tuple(ProofSample(self.answer, self.answer) for _ in range(n)),), n, n)


def find_problem() -> Problem:
    problems = {p.id: p for p in load_path(SAMPLE, holes="find").problems}
    return problems["putnam_sample_1991_b2"]


def world_for(problem: Problem, tmp_path: Path) -> Path:
    """The problem's theorem, closed by ``decide`` in this world; the world knows 6 is the answer."""
    goal = "⊢ IsLeast {n | 0 < n ∧ 720 ∣ n !} putnam_sample_1991_b2_solution"
    world = {
        "theorems": [
            {
                "name": problem.theorem.name,
                "statement": problem.theorem.statement,
                "header": problem.theorem.header,
                "goals": [goal],
            }
        ],
        "goals": {goal: {"decide": {"goals": []}}},
        "commands": [
            {"contains": f"{HOLE} : ℕ := 6", "messages": []},
            {
                "contains": f"{HOLE} : ℕ :=",
                "messages": [{"severity": "error", "data": "not the least such n"}],
            },
        ],
    }
    path = tmp_path / "putnam_world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return path


def run_one(
    problem: Problem, world: Path, answer: str, *, holes: bool = True, judge: object = None
) -> tuple[object, Sequence[str]]:
    config = {
        "backend": {"name": "scripted", "world": str(world), "in_process": True},
        "generator": {"name": "fixed", "tactics": [{"tactic": "decide", "logprob": 0.0}]},
        "search": {"name": "whole_proof", "num_samples": 2},
    }
    worker = ProblemWorker(config)
    worker._prover = TheoremProver.from_config(config, generator=Answers(answer), judge=judge)
    job = (
        problem.to_json()
        if holes
        else {k: v for k, v in problem.to_json().items() if k != "definition_names"}
    )
    try:
        record = worker.run(job)
    finally:
        worker.close()
    reasons = record.verification.reasons if record.verification is not None else ()
    return record, reasons


@pytest.mark.parametrize(("value", "proved"), [("6", True), ("7", False)])
def test_find_the_answer_is_judged_with_its_hole(tmp_path: Path, value: str, proved: bool) -> None:
    problem = find_problem()
    assert problem.definition_names == (HOLE,)
    answer = with_hole_definitions(problem.theorem, [f"abbrev {HOLE} : ℕ := {value}"], "decide")
    record, reasons = run_one(problem, world_for(problem, tmp_path), answer)
    assert record.judge == "simulation"  # type: ignore[attr-defined]
    if proved:
        assert record.status is ProofStatus.PROVED and record.proof == answer  # type: ignore[attr-defined]
    else:
        # the search's session replays the tactics (the value is not its business); the judge refuses the value
        assert record.status is ProofStatus.UNVERIFIED  # type: ignore[attr-defined]
        assert any("not the least such n" in r for r in reasons), reasons


def test_without_the_holes_the_judge_cannot_accept_a_filled_answer(tmp_path: Path) -> None:
    """What the run did before the holes were passed on: the judge read the definitions as a tactic script."""
    problem = find_problem()
    answer = with_hole_definitions(problem.theorem, [f"abbrev {HOLE} : ℕ := 6"], "decide")
    record, _ = run_one(problem, world_for(problem, tmp_path), answer, holes=False)
    assert record.status is not ProofStatus.PROVED  # type: ignore[attr-defined]


def test_the_repl_judge_refuses_holes_and_the_record_says_why(tmp_path: Path) -> None:
    from prover.lean.judge import make_judge

    problem = find_problem()
    answer = with_hole_definitions(problem.theorem, [f"abbrev {HOLE} : ℕ := 6"], "decide")
    repl = {
        "name": "repl",
        "command": ["lake", "env", "repl"],
        "project_dir": str(tmp_path),
        "sandbox": "none",
    }
    judge = make_judge({"judge": "repl"}, repl)
    record, reasons = run_one(problem, world_for(problem, tmp_path), answer, judge=judge)
    assert record.status is ProofStatus.UNVERIFIED and record.judge == "repl"  # type: ignore[attr-defined]
    assert any("does not check definition holes" in r and "comparator" in r for r in reasons), reasons
