"""Whole-proof sampling as a Searcher: same seam as tree search, every sample verified, pass@k counts kept."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.generation.base import GenerationRequest, Suggestion
from prover.generation.fixed import FixedTacticGenerator
from prover.search.factory import make_searcher
from prover.search.status import ProofStatus
from prover.search.whole_proof import WholeProofSearch, extract_whole_proof

pytest.importorskip("prover.lean.doubles.session", reason="the scripted world (Lean layer) is not available")

from test_search_algorithms import chain_world, session_for, theorem_of

WORLD = chain_world(2)  # `step` twice proves it
SAMPLES = [
    ("sorry", -0.1),
    ("```lean\nstep\nstep\n```", -0.2),
    ("bad", -0.3),
    ("theorem t_chain : G := by\n  step\n  step", -0.4),
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
    assert result.status is ProofStatus.PROVED and result.proof == "step\nstep"
    assert result.verdict is not None and result.verdict.accepted
    samples = result.samples
    assert samples is not None and (samples.n, samples.c, samples.requested) == (4, 2, 4)
    assert samples.distinct == 3  # the fenced and the restated proof are the same script
    assert samples.rejection_reasons  # why `sorry` and `bad` were rejected
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
