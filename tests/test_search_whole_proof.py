"""Whole-proof sampling as a Searcher: same seam as tree search, every sample verified, pass@k counts kept."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.generation.base import GenerationRequest, Suggestion
from prover.generation.fixed import FixedTacticGenerator
from prover.generation.profiles import ProofSample, SampleBatch
from prover.lean.types import Theorem, Verdict
from prover.search.factory import make_searcher
from prover.search.status import ProofStatus
from prover.search.whole_proof import WholeProofSearch, extract_whole_proof

pytest.importorskip("prover.lean.doubles.session", reason="the scripted world (Lean layer) is not available")

from test_search_algorithms import chain_world, session_for, theorem_of

# `step` twice proves it, renamed `intro` then `simp` (and `bad`, which errors, renamed `decide`): the guard lets a
# line of a whole proof start only with a tactic it knows
WORLD = chain_world(2)
WORLD["goals"] = {
    "⊢ G0": {"intro": {"goals": ["⊢ G1"]}, "decide": {"error": "no"}},
    "⊢ G1": {"simp": {"goals": []}, "decide": {"error": "no"}},
}
SAMPLES = [
    ("sorry", -0.1),
    ("```lean\nintro\nsimp\n```", -0.2),
    ("decide", -0.3),
    ("theorem t_chain : G := by\n  intro\n  simp", -0.4),
]


class Spy(FixedTacticGenerator):
    """Records every request and k it is asked for."""

    def __init__(self, tactics: Sequence[tuple[str, float]], delay_s: float = 0.0) -> None:
        super().__init__(tactics)
        self.calls: list[tuple[list[GenerationRequest], int]] = []
        self.delay_s = delay_s

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        self.calls.append((list(requests), k))
        time.sleep(self.delay_s)
        return super().generate(requests, k)


def test_samples_are_verified_and_counted_for_pass_at_k(tmp_path: Path) -> None:
    session = session_for(WORLD, tmp_path)
    searcher = make_searcher({"name": "whole_proof", "num_samples": 4})
    assert isinstance(searcher, WholeProofSearch) and searcher.mode == "whole_proof"
    gen = Spy(SAMPLES)
    result = searcher.search(session, gen, theorem_of(WORLD))
    assert result.status is ProofStatus.PROVED and result.proof == "intro\nsimp"
    assert result.verdict is not None and result.verdict.accepted
    samples = result.samples
    assert samples is not None and (samples.n, samples.c, samples.requested) == (4, 2, 4)
    assert samples.distinct == 3  # the fenced and the restated proof are the same script
    assert samples.rejection_reasons  # why `sorry` and `decide` were rejected
    assert result.budget == "1×4×1" and result.attempts == 1 and result.stats.expansions == 1
    # the generator sees the statement as its goal, with the theorem's name and header as context
    (requests, k), *_ = gen.calls
    assert k == 4 and requests[0].goals == ("theorem t_chain : G := by",)
    assert requests[0].theorem_name == "t_chain" and requests[0].header == "import Mathlib\n"
    assert result.to_json()["samples"]["c"] == 2


def test_no_correct_sample_fails_with_the_reasons(tmp_path: Path) -> None:
    session = session_for(WORLD, tmp_path)
    result = make_searcher({"name": "whole_proof", "num_samples": 2}).search(
        session, FixedTacticGenerator(SAMPLES[2:3] + SAMPLES[0:1]), theorem_of(WORLD)
    )
    assert result.status is ProofStatus.FAILED and result.proof is None
    assert result.verdict is not None and not result.verdict.accepted and result.verdict.reasons
    assert result.samples is not None and (result.samples.n, result.samples.c) == (2, 0)


def test_attempts_are_sampling_rounds(tmp_path: Path) -> None:
    session = session_for(WORLD, tmp_path)
    gen = Spy(SAMPLES)
    result = make_searcher({"name": "whole_proof", "num_samples": 2, "attempts": 3}).search(
        session, gen, theorem_of(WORLD)
    )
    assert len(gen.calls) == 3 and result.attempts == 3 and result.budget == "3×2×1"
    assert result.samples is not None and (result.samples.n, result.samples.requested) == (6, 6)


def test_time_limit_stops_checking_samples(tmp_path: Path) -> None:
    session = session_for(WORLD, tmp_path)
    result = make_searcher({"name": "whole_proof", "num_samples": 4, "time_limit_s": 0.05}).search(
        session, Spy(SAMPLES, delay_s=0.2), theorem_of(WORLD)
    )
    assert result.status is ProofStatus.TIMEOUT and result.proof is None
    assert result.samples is not None and result.samples.n < 4


def test_extract_whole_proof_strips_fences_and_restated_theorems() -> None:
    statement = "theorem t (n : ℕ) : n = n"
    assert extract_whole_proof("```lean4\nby\n  rfl\n```", statement) == "rfl"
    assert extract_whole_proof(f"{statement} := by\n  intro\n  rfl", statement) == "intro\nrfl"
    assert extract_whole_proof("  simp\n  omega", statement) == "simp\nomega"


# --- repair rounds, budgets and the journal, with a conversational sampler (no server) -------------------------


class Conversational(FixedTacticGenerator):
    """A whole-proof sampler with repair turns: opening answers from ``first``, every repair answers ``fixed``;
    each call costs 10 prompt + 5 completion tokens per sample. Records what it was asked."""

    can_repair = True

    def __init__(self, first: Sequence[str], fixed: str = "intro\nsimp") -> None:
        super().__init__([("unused", 0.0)])
        self.first, self.fixed = list(first), fixed
        self.asked: list[tuple[str, int]] = []
        self.repair_inputs: list[tuple[int, list[str]]] = []

    def sample_proofs(self, theorem: Theorem, n: int) -> SampleBatch:
        self.asked.append(("open", n))
        texts = [self.first[i % len(self.first)] for i in range(n)]
        return SampleBatch((tuple(ProofSample(t, t) for t in texts),), 10 * n, 5 * n)

    def repair_proofs(
        self,
        theorem: Theorem,
        round_no: int,
        failures: Sequence[tuple[ProofSample, Verdict]],
        n: Sequence[int],
    ) -> SampleBatch:
        self.asked.append(("repair", sum(n)))
        self.repair_inputs.append((round_no, [v.diagnostics[0].text for _, v in failures]))
        groups = tuple(tuple(ProofSample(self.fixed, self.fixed) for _ in range(c)) for c in n)
        return SampleBatch(groups, 10 * sum(n), 5 * sum(n))


def test_a_repair_round_answers_lean_errors_and_proves_what_the_first_round_missed(tmp_path: Path) -> None:
    session = session_for(WORLD, tmp_path)
    gen = Conversational(["decide", "intro"])
    settings = {"name": "whole_proof", "num_samples": 2, "repair_rounds": 2, "samples_per_round": 3}
    result = make_searcher(settings).search(session, gen, theorem_of(WORLD))
    assert result.status is ProofStatus.PROVED and result.proof == "intro\nsimp"
    # both first-round samples failed with positioned errors; the 3 repair samples are spread over them (2 + 1),
    # and the second repair round never runs once a sample is correct
    assert gen.asked == [("open", 2), ("repair", 3)]
    assert gen.repair_inputs == [(0, ["no", "unsolved goals\n⊢ G1"])]
    s = result.samples
    assert s is not None and (s.n, s.c, s.repaired, s.rounds, s.first_correct) == (5, 3, 3, 2, 3)
    assert (s.prompt_tokens, s.completion_tokens) == (50, 25)
    assert result.budget == "1×(2+2×3)×1"


@pytest.mark.parametrize(
    ("budget", "asked"),
    [
        ({"max_samples": 3}, [("open", 2), ("repair", 1)]),  # the repair round gets only the room left
        ({"max_tokens": 30}, [("open", 2)]),  # 2 samples cost 30 tokens: no repair round
        ({"max_lean_s": 1e-9}, [("open", 2)]),  # the first verdict spends the Lean budget
    ],
)
def test_budgets_in_samples_tokens_and_lean_seconds_stop_the_rounds(
    tmp_path: Path, budget: dict, asked: list
) -> None:
    session = session_for(WORLD, tmp_path)
    gen = Conversational(["decide"], fixed="decide")
    settings = {"name": "whole_proof", "num_samples": 2, "repair_rounds": 3, "samples_per_round": 2, **budget}
    result = make_searcher(settings).search(session, gen, theorem_of(WORLD))
    assert result.status is ProofStatus.BUDGET_EXHAUSTED and result.proof is None
    assert gen.asked == asked


def test_a_rerun_on_the_journal_asks_the_model_nothing_and_judges_nothing_again(tmp_path: Path) -> None:
    session = session_for(WORLD, tmp_path)
    settings = {
        "name": "whole_proof",
        "num_samples": 2,
        "repair_rounds": 1,
        "samples_per_round": 2,
        "journal_dir": str(tmp_path / "samples"),
    }
    first = make_searcher(settings).search(session, Conversational(["decide", "intro"]), theorem_of(WORLD))
    again = Conversational(["never asked"], fixed="never asked")
    calls: list[str] = []
    original = session.verify

    def counting_verify(theorem: Theorem, proof: str) -> Verdict:
        calls.append(proof)
        return original(theorem, proof)

    session.verify = counting_verify  # type: ignore[method-assign]
    second = make_searcher(settings).search(session, again, theorem_of(WORLD))
    assert again.asked == [] and calls == []
    assert second.status is first.status is ProofStatus.PROVED and second.proof == first.proof
    assert second.samples == first.samples


def test_pass_at_k_counts_no_correct_sample_of_a_problem_the_judge_did_not_accept() -> None:
    from prover.evaluation.report import RunSummary
    from prover.evaluation.results import AttemptRecord
    from prover.search.api import SampleCounts

    def record(name: str, status: ProofStatus, c: int, first: int | None) -> AttemptRecord:
        counts = SampleCounts(n=4, c=c, requested=4, distinct=4, first_correct=first)
        return AttemptRecord(
            problem=name, theorem=name, status=status, budget="1×4×1", time_s=0, samples=counts
        )

    run = RunSummary(
        "r",
        [
            record("a", ProofStatus.PROVED, 2, 1),
            record("b", ProofStatus.UNVERIFIED, 4, 1),  # every sample passed the session, the judge refused
        ],
    )
    # a: n=4, c=2 -> pass@1 = 0.5, pass@2 = 1 - 1/6, pass@4 = 1; b counts as c=0
    assert run.pass_at_k() == [(1, 0.25), (2, pytest.approx((1 - 1 / 6) / 2)), (4, 0.5)]
    assert run.coverage() == [(1, 1), (2, 1), (4, 1)]
    # a problem that ended in an error (no sample judged) counts 0 at every k, and the curve keeps its k
    errored = AttemptRecord(problem="c", theorem="c", status=ProofStatus.ERROR, budget="1×4×1", time_s=0)
    run.records.append(errored)
    assert run.pass_at_k() == [(1, 0.5 / 3), (2, pytest.approx((1 - 1 / 6) / 3)), (4, pytest.approx(1 / 3))]


def test_find_the_answer_samples_fill_the_header_hole_and_a_changed_type_is_refused(tmp_path: Path) -> None:
    from prover.generation.profiles import definition_holes, with_hole_definitions

    world = {
        "theorems": [
            {
                "name": "p_find",
                "statement": "theorem p_find : p_solution = 6",
                "header": "import Mathlib\n\nabbrev p_solution : ℕ := sorry\n",
                "goals": ["⊢ p_solution = 6"],
            }
        ],
        "goals": {"⊢ p_solution = 6": {"rfl": {"goals": []}, "decide": {"error": "no"}}},
    }
    session = session_for(world, tmp_path)
    theorem = theorem_of(world)
    assert definition_holes(theorem) == ("p_solution",)
    right = with_hole_definitions(theorem, ["abbrev p_solution : ℕ := 6"], "rfl")
    retyped = with_hole_definitions(theorem, ["abbrev p_solution : ℤ := 6"], "rfl")
    unsafe = with_hole_definitions(theorem, ["abbrev p_solution : ℕ := by native_decide"], "rfl")
    bare = "rfl"  # the proof alone, the hole left open
    gen = Conversational([retyped, unsafe, bare, right])
    result = make_searcher({"name": "whole_proof", "num_samples": 4}).search(session, gen, theorem)
    assert result.status is ProofStatus.PROVED and result.proof == right
    s = result.samples
    assert s is not None and (s.n, s.c, s.first_correct) == (4, 1, 4)
    reasons = " | ".join(s.rejection_reasons)
    assert "must keep 'abbrev p_solution : ℕ'" in reasons and "native_decide" in reasons
    assert "does not define p_solution" in reasons
