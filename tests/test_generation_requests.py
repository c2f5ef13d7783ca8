"""The generator seam's request: goals as a list, the theorem's context, and who reads which part of it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from prover.generation.augment import RetrievalAugmenter
from prover.generation.base import GenerationRequest, requests_from_texts
from prover.generation.critic import HeuristicCritic
from prover.generation.fixed import FixedTacticGenerator
from prover.generation.inputs import GenerationInputError
from prover.generation.portfolio import AutomationPortfolio
from prover.generation.prompts import get_template
from prover.lean.types import TacticState, Theorem, split_goals
from prover.retrieval.corpus import Corpus, Premise, SourceFile

THEOREM = Theorem(
    "amc12_2000_p5",
    "theorem amc12_2000_p5 (x p : ℝ) (h₀ : x < 2) (h₁ : abs (x - 2) = p) : x - p = 2 * x - 2",
    "import Mathlib\nopen Real\n",
)
# Goal texts with hypotheses that continue over several lines, as Lean prints long ones.
GOAL_A = "case inl\nx p : ℝ\nh₀ : x < 2\nh₁ :\n  |x - 2| =\n    p\n⊢ x - p = 2 * x - 2"
GOAL_B = "case inr\nx p : ℝ\n⊢ 0 ≤ p"
STATE = TacticState(goals=(GOAL_A, GOAL_B), theorem=THEOREM, path=("rcases le_or_lt 0 x with h | h",))


def test_request_from_a_multi_goal_state_keeps_the_list_and_the_context() -> None:
    request = GenerationRequest.from_state(STATE)
    assert request.goals == (GOAL_A, GOAL_B)
    assert request.first_goal == GOAL_A
    assert request.theorem_name == "amc12_2000_p5" and request.statement == THEOREM.statement
    assert request.header == THEOREM.header and request.path == STATE.path
    assert request.text == STATE.pp  # what text-only models read, joined once
    assert request.proof_before == "rcases le_or_lt 0 x with h | h"
    assert request.accessible is None
    limited = GenerationRequest.from_state(STATE, accessible=["Real.sqrt_nonneg"], position=[3, 1])
    assert limited.accessible == frozenset({"Real.sqrt_nonneg"}) and limited.position == (3, 1)
    hash(limited)  # requests are immutable values


def test_plain_text_is_split_by_the_lean_layer_once() -> None:
    assert split_goals(STATE.pp) == STATE.goals
    assert GenerationRequest.from_text(STATE.pp).goals == STATE.goals
    assert GenerationRequest.from_text("\n  \n").goals == ()
    with pytest.raises(TypeError, match="from_text"):
        GenerationRequest(goals="⊢ True")  # type: ignore[arg-type]


def test_generators_refuse_plain_strings_with_a_hint() -> None:
    gen = FixedTacticGenerator([("simp", -0.1)])
    with pytest.raises(GenerationInputError, match="GenerationRequest.from_text"):
        gen.generate(["⊢ True"], 1)  # type: ignore[list-item]
    with pytest.raises(GenerationInputError, match="not one"):
        gen.generate(GenerationRequest.from_text("⊢ True"), 1)  # type: ignore[arg-type]
    with pytest.raises(GenerationInputError, match="request #1 is empty"):
        AutomationPortfolio().generate([GenerationRequest.from_text("⊢ True"), GenerationRequest(())], 2)


def test_prompts_show_the_real_theorem_and_the_proof_so_far() -> None:
    request = GenerationRequest.from_state(STATE)
    internlm = get_template("internlm_stepprover").format(request)
    assert "NAME: amc12_2000_p5\n" in internlm
    assert "PROOF_BEFORE: rcases le_or_lt 0 x with h | h\n" in internlm
    assert f"STATE_BEFORE: {GOAL_A}\n\n{GOAL_B}\n" in internlm
    deepseek = get_template("deepseek_prover").format(request)
    assert "current_goal" not in deepseek
    assert "import Mathlib\nopen Real\n\n" + THEOREM.statement + " := by\n" in deepseek
    assert "  rcases le_or_lt 0 x with h | h\n  /- tactic state:\n" + GOAL_A in deepseek
    # Without context the formats still render (placeholders, as before).
    bare = get_template("deepseek_prover").format(GenerationRequest.from_text(GOAL_B))
    assert "theorem current_goal := by\n  /- tactic state:" in bare


def test_portfolio_reads_the_goal_list_not_blank_lines() -> None:
    port = AutomationPortfolio()
    one = port.scored(GenerationRequest(goals=("x : ℕ\n⊢ x = x",)))
    two = port.scored(GenerationRequest(goals=("x : ℕ\n⊢ x = x", "⊢ True")))
    rank = {s.tactic: i for i, s in enumerate(two)}
    assert rank["simp_all"] < {s.tactic: i for i, s in enumerate(one)}["simp_all"]


def test_heuristic_critic_counts_the_goal_list() -> None:
    critic = HeuristicCritic()
    one = GenerationRequest(goals=(GOAL_A,))
    assert critic.score(GenerationRequest(())) == 1.0
    assert critic.score(GenerationRequest.from_state(STATE)) < critic.score(one)
    assert critic.score_batch([one, one]) == [critic.score(one)] * 2


@dataclass
class SpyRetriever:
    """Records the accessible filters it is given; ``corpus`` lets the augmenter derive filters."""

    corpus: Corpus | None = None

    def __post_init__(self) -> None:
        self.calls: list[tuple[list[str], int, object]] = []

    def retrieve_batch(
        self, states: Sequence[str], k: int, accessible: Sequence[Collection[str] | None] | None = None
    ) -> list[list[tuple[Premise, float]]]:
        self.calls.append((list(states), k, accessible))
        return [[(Premise("Nat.add_zero", "theorem Nat.add_zero (n : ℕ) : n + 0 = n"), 1.0)] for _ in states]


def _corpus() -> Corpus:
    files = {
        "A.lean": SourceFile("A.lean", "A"),
        "B.lean": SourceFile("B.lean", "B", ("A.lean",)),
        "C.lean": SourceFile("C.lean", "C"),
    }
    premises = [
        Premise("a1", path="A.lean", end=(1, 10)),
        Premise("b1", path="B.lean", end=(5, 1)),
        Premise("b2", path="B.lean", end=(20, 1)),
        Premise("c1", path="C.lean", end=(1, 1)),
    ]
    return Corpus(premises, files)


def test_augmentation_passes_the_accessible_filter_to_the_retriever() -> None:
    spy = SpyRetriever(_corpus())
    aug = RetrievalAugmenter(spy, k=3, max_bytes=4096)
    explicit = GenerationRequest(("⊢ True",), accessible=frozenset({"a1"}))
    by_header = GenerationRequest(("⊢ True",), header="import B\n")
    by_position = GenerationRequest(("⊢ True",), file_path="B.lean", position=(10, 1))
    no_context = GenerationRequest(("⊢ False",))
    prefixes = aug.prefixes([explicit, by_header, by_position, no_context])
    assert all("<a>Nat.add_zero</a>" in p for p in prefixes)
    assert len(spy.calls) == 1  # one batched retrieval for all requests
    states, k, filters = spy.calls[0]
    assert states == ["⊢ True", "⊢ True", "⊢ True", "⊢ False"] and k == 3
    assert filters == [
        frozenset({"a1"}),
        frozenset({"a1", "b1", "b2"}),  # everything under `import B` (B imports A), not C
        frozenset({"a1", "b1"}),  # B's own premises only up to the position
        None,
    ]


def test_augmentation_without_any_filter_sends_none_and_unknown_modules_fall_back() -> None:
    spy = SpyRetriever(_corpus())
    aug = RetrievalAugmenter(spy, k=1)
    aug.prefixes([GenerationRequest(("⊢ True",)), GenerationRequest(("⊢ True",), header="import Nope\n")])
    assert spy.calls[0][2] is None
    no_corpus = SpyRetriever(None)
    RetrievalAugmenter(no_corpus, k=1).prefixes([GenerationRequest(("⊢ True",), header="import B\n")])
    assert no_corpus.calls[0][2] is None


def test_requests_from_texts_refuses_one_string() -> None:
    assert [r.goals for r in requests_from_texts(["⊢ a", "⊢ b\n\n⊢ c"])] == [("⊢ a",), ("⊢ b", "⊢ c")]
    with pytest.raises(TypeError):
        requests_from_texts("⊢ a")


def test_cli_suggest_accepts_multi_goal_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from prover.cli.main import main

    assert main(["suggest", "--state", "x : ℕ\n⊢ x = x\n\n⊢ True", "-k", "3", "generator=portfolio"]) == 0
    assert len([line for line in capsys.readouterr().out.splitlines() if line.strip()]) == 3
