"""Prompt templates, tactic extraction and ReProver-style retrieval augmentation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from prover.generation.augment import RetrievalAugmenter, premises_prefix, serialize_premise
from prover.generation.base import GenerationRequest
from prover.generation.prompts import get_template

STATE = "n : ℕ\n⊢ n + 0 = n"
REQUEST = GenerationRequest.from_text(STATE)


@dataclass(frozen=True)
class Premise:
    full_name: str
    code: str


class FakeRetriever:
    def __init__(self, premises: list[Premise]) -> None:
        self.premises = premises
        self.calls: list[tuple[str, int]] = []
        self.filters: list[object] = []

    def retrieve_batch(
        self, states: list[str], k: int, accessible: object = None
    ) -> list[list[tuple[Premise, float]]]:
        self.calls.extend((state, k) for state in states)
        self.filters.append(accessible)
        return [[(p, 1.0 - i / 10) for i, p in enumerate(self.premises[:k])] for _ in states]


def test_templates_render_documented_formats() -> None:
    assert get_template("reprover").format(REQUEST) == STATE
    assert get_template("bfs_prover").format(REQUEST) == STATE + ":::"
    internlm = get_template("internlm_stepprover").format(
        GenerationRequest.from_text(STATE, theorem_name="foo", path=("intro n",))
    )
    assert internlm.startswith("---\nNAME: foo\n\n---\nPROOF_BEFORE: intro n\n\n---\nSTATE_BEFORE: n : ℕ")
    assert internlm.endswith("---\nTACTIC: ")
    deepseek = get_template("deepseek_prover").format(REQUEST)
    assert deepseek.startswith("Complete the following Lean 4 code:\n\n```lean4\n")
    assert "/- tactic state:\nn : ℕ\n⊢ n + 0 = n\n  -/" in deepseek
    with pytest.raises(ValueError, match="unknown prompt_template"):
        get_template("gpt")


def test_extraction_cuts_at_format_markers() -> None:
    assert get_template("bfs_prover").extract_tactic(" simp [h]\nlinarith:::x") == "simp [h]"
    assert (
        get_template("deepseek_prover").extract_tactic("\n  nlinarith [sq_nonneg x]\n  /- tactic state")
        == "nlinarith [sq_nonneg x]"
    )
    assert get_template("internlm_stepprover").extract_tactic("rw [h]\n---\nNAME") == "rw [h]"
    # Multi-line tactics survive where the format allows them.
    assert (
        get_template("reprover").extract_tactic("induction n with\n| zero => simp")
        == "induction n with\n| zero => simp"
    )


def test_augmentation_budget_and_order() -> None:
    premises = [
        Premise("Nat.add_zero", "theorem Nat.add_zero (n : ℕ) : n + 0 = n"),
        Premise("Nat.big", "theorem Nat.big : " + "x" * 500),
        Premise("Nat.zero_add", "theorem Nat.zero_add (n : ℕ) : 0 + n = n"),
    ]
    assert serialize_premise(premises[0]).startswith("<a>Nat.add_zero</a> theorem")
    budget = len(STATE.encode()) + 150
    prefix = premises_prefix(premises, STATE, budget)
    # The big premise does not fit and is skipped; the most relevant is nearest to the state.
    assert "Nat.big" not in prefix
    assert prefix.index("Nat.zero_add") < prefix.index("Nat.add_zero")
    assert len((prefix + STATE).encode()) <= budget
    retriever = FakeRetriever(premises)
    aug = RetrievalAugmenter(retriever, k=2, max_bytes=4096)
    text = aug.augment(REQUEST)
    assert text.endswith(STATE) and "Nat.big" in text and "zero_add" not in text
    assert retriever.calls == [(STATE, 2)]


def test_augmented_reprover_prompt_puts_premises_first() -> None:
    premises = "<a>Nat.add_zero</a> theorem ...\n\n"
    assert get_template("reprover").format(REQUEST, premises) == "<a>Nat.add_zero</a> theorem ...\n\n" + STATE
