"""Well-formed suggestions from the offline generator: local names, renaming, intro, hint lists, answers, mix."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from prover.generation.answers import answer_candidates, candidate_values, evaluate_closed
from prover.generation.base import requests_from_texts
from prover.generation.corpus import ProofStep, load_corpus
from prover.generation.goals import parse_goal
from prover.generation.hints import hint_candidates, intro_candidates, ranked_hypotheses, telescope
from prover.generation.knn import KnnTacticGenerator
from prover.generation.mix import ShapeModel, candidates, fit_mix_weights, goal_kind
from prover.generation.names import bound_names, referenced_locals, repair, unknown_locals
from prover.generation.renaming import adapt_tactic

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared/data/tactics/fps-search-proof-steps.jsonl"


class TrigramEncoder:
    """Deterministic stand-in for MiniLM: hashed character trigrams, L2-normalised."""

    dim = 256

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for j in range(len(t) - 2):
                out[i, zlib.crc32(t[j : j + 3].encode()) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _step(source: str, goal: str, tactic: str) -> ProofStep:
    return ProofStep(source, 0, (goal,), 0, tactic)


# --- local names -----------------------------------------------------------------------------------------
def test_unknown_locals_flags_absent_hypotheses_only() -> None:
    assert unknown_locals("rw [h₀, h₁]", set()) == ["h₀", "h₁"]
    assert unknown_locals("nlinarith [sq_nonneg (x - y), h₀.le, Nat.succ_le_iff]", {"x", "y", "h₀"}) == []
    assert unknown_locals("exact h₀.le", {"x"}) == ["h₀"]
    # Names the tactic binds itself are not references.
    assert bound_names("intro x hx") == {"x", "hx"}
    assert unknown_locals("exact fun _ h ↦ by rw [h]; norm_num", set()) == []
    assert unknown_locals("obtain ⟨a, ha⟩ := h₀; exact ha", {"h₀"}) == []
    assert unknown_locals("rintro answer rfl N ⟨N0, -, N9⟩ (h2 : _ % 2 = 0)", set()) == []
    assert unknown_locals("have h : x = 1 := by linarith; simp [h]", {"x"}) == []
    # Library names, field names and notations are not local names.
    assert referenced_locals("simp (config := {decide := true}) [Real.sqrt_eq_iff, π]") == []


def test_repair_drops_unknown_names_from_lists_or_gives_up() -> None:
    known = {"x", "h₀"}
    assert repair("norm_num [h₀, h₉, foo_bar] at h₉ ⊢", known) == "norm_num [h₀, foo_bar] at ⊢"
    assert repair("simp [h₉]", known) == "simp"
    assert repair("linarith [h₀, h₁]", known) == "linarith [h₀]"
    assert repair("rw [h₉]", known) is None
    assert repair("exact h₉", known) is None
    assert repair("nlinarith [h₀]", known) == "nlinarith [h₀]"


# --- renaming -----------------------------------------------------------------------------------------
def test_renaming_matches_shape_before_position() -> None:
    theirs = parse_goal("a b : ℕ\nh₀ : a = 2\nh₁ : b = 3\n⊢ a * b = 6")
    ours = parse_goal("a b : ℕ\nh₀ : a = 2 ∧ b = 3\nh₁ : b = 3\nh₂ : a + 0 = 2\n⊢ a * b = 6")
    # Position would map h₀ onto the conjunction; the equation h₂ has the neighbour's shape.
    assert adapt_tactic("rw [h₀, h₁]", theirs, ours) == "rw [h₂, h₁]"
    theirs = parse_goal("x y : ℝ\nh₀ : 0 < x\nh₁ : 0 < y\n⊢ x * y ≤ 1")
    ours = parse_goal("a b : ℝ\nhb : 0 < b\nha : 0 < a\n⊢ a * b ≤ 1")
    assert adapt_tactic("nlinarith [sq_nonneg (x - y), h₀, h₁]", theirs, ours) == (
        "nlinarith [sq_nonneg (a - b), ha, hb]"
    )


def test_renaming_never_merges_two_names() -> None:
    theirs = parse_goal("x : ℝ\nh₂ : x = 1\nh₃ : x = 2\nh₄ : x = 3\n⊢ x = 1")
    ours = parse_goal("x : ℝ\nh₂ : x = 2\nh₄ : 0 < x\n⊢ x = 1")
    adapted = adapt_tactic("norm_num [h₂, h₃, h₄]", theirs, ours)
    items = adapted[adapted.index("[") + 1 : adapted.index("]")].split(", ")
    assert len(items) == len(set(items)) == 3
    # h₃ (x = 2) is our h₂; the neighbour's h₂ and h₄ have no counterpart and are removed by the repair.
    assert repair(adapted, set(ours.names())) == "norm_num [h₂]"


# --- intro ------------------------------------------------------------------------------------------------
def test_intro_uses_goal_binder_names_never_binder_text() -> None:
    goal = parse_goal("⊢ ∀ F ∈ ?w, F = 1")
    tactics = [c.tactic for c in intro_candidates(goal)]
    assert tactics and all("∈" not in t and "?" not in t for t in tactics)
    assert "intro F h₁" in tactics
    goal = parse_goal("⊢ ∀ (answer : ℝ), answer = 60 → ∀ (x : ℝ), x = √(10 * 15 * 24) → x = answer")
    assert [i.name or "·" for i in telescope(goal.target)] == ["answer", "·", "x", "·"]
    tactics = [c.tactic for c in intro_candidates(goal)]
    assert "intro answer h₁ x h₂" in tactics and "rintro answer rfl x rfl" in tactics
    # No binder to name: no intro.
    assert intro_candidates(parse_goal("x : ℝ\n⊢ x = x")) == []
    for tactic in tactics:
        assert unknown_locals(tactic, set()) == []


def test_portfolio_intro_template_never_copies_binder_text() -> None:
    from prover.generation.portfolio import AutomationPortfolio

    for state in ("⊢ ∀ F ∈ ?w, F = 1", "⊢ ∀ F ∈ {F | F = 1}, F = 1"):
        tactics = [s.tactic for s in AutomationPortfolio().generate(requests_from_texts([state]), 40)[0]]
        intros = [t for t in tactics if t.startswith("intro")]
        assert intros == ["intro F h₁"], tactics


# --- hint lists --------------------------------------------------------------------------------------------
def test_hint_lists_rank_hypotheses_by_relevance() -> None:
    goal = parse_goal("x y z : ℝ\nh₀ : z = 4\nh₁ : x + y = 25\nh₂ : x - y = 11\n⊢ x = 18")
    ranked = ranked_hypotheses(goal)
    assert ranked[-1] == "h₀"  # the only hypothesis that does not mention x
    tactics = [c.tactic for c in hint_candidates(goal)]
    assert "linarith [h₀, h₁, h₂]" in tactics and "linarith [h₁]" in tactics
    heads = {t.split()[0] for t in tactics}
    assert {"norm_num", "simp", "linarith", "nlinarith", "field_simp"} <= heads
    with_premises = [c.tactic for c in hint_candidates(goal, premises=["add_comm"])]
    assert any("add_comm" in t and "h₁" in t for t in with_premises)
    for tactic in tactics + with_premises:
        assert unknown_locals(tactic, set(goal.names())) == []
    assert hint_candidates(parse_goal("⊢ 2 + 2 = 4")) == []
    closing = [c.tactic for c in hint_candidates(parse_goal("p q : Prop\nhp : p\nhq : q\n⊢ q"))]
    assert "exact hq" in closing and "exact hp" not in closing


# --- answers ----------------------------------------------------------------------------------------------
def test_answer_goals_get_shapes_and_computed_values() -> None:
    assert evaluate_closed("(10 - 2) / (24 - 3 * 2)") == pytest.approx(8 / 18)
    assert evaluate_closed("x + 1") is None and evaluate_closed("2 ^ 100000") is None
    goal = parse_goal("x : ℕ\nh₀ : x = 7\n⊢ ∃ answer, answer = 3 * 4 + 1")
    tactics = [c.tactic for c in answer_candidates(goal)]
    assert "refine ⟨?_, ?_⟩" in tactics and "exact ⟨_, _⟩" in tactics
    assert "use 13" in tactics and "use 7" in tactics
    assert candidate_values(parse_goal("⊢ ∃ q, q = 1 / 2 + 1 / 3")) == ["5 / 6"]
    meta = [c.tactic for c in answer_candidates(parse_goal("⊢ ?w = 2 ^ 2010 % 10"))]
    assert "rfl" in meta
    assert answer_candidates(parse_goal("x : ℝ\n⊢ x ≤ x + 1")) == []


# --- the learned shape model and the mix --------------------------------------------------------------
def test_fitting_the_shape_model_raises_what_the_data_takes() -> None:
    iff_goal = "p q : Prop\n⊢ p ∧ q ↔ q ∧ p"
    untrained = dict(ShapeModel().scored(parse_goal(iff_goal)))
    assert "exact Iff.rfl" in untrained and "constructor" in untrained
    corpus = [_step(f"p{i}", f"a b : Prop\n⊢ a ∧ b ↔ b ∧ a{i}", "aesop") for i in range(6)]
    corpus += [_step("q", "x : ℝ\nh : 0 < x\n⊢ 0 < x ^ 2", "positivity")]
    model = ShapeModel.fit(corpus)
    ranked = [t for t, _ in model.scored(parse_goal(iff_goal))]
    assert ranked[0] == "aesop"  # learned for ↔ goals; untrained it is one of many
    assert [t for t, _ in sorted(untrained.items(), key=lambda x: -x[1])][0] != "aesop"
    probs = [p for _, p in model.scored(parse_goal(iff_goal))]
    assert math.isclose(sum(probs), 1.0)
    # An intro goal learns the intro template, instantiated with this goal's binder names.
    corpus = [_step(f"r{i}", f"⊢ ∀ (n{i} : ℕ), n{i} = 1 → n{i} + 1 = 2", f"intro n{i} h₁") for i in range(5)]
    model = ShapeModel.fit(corpus)
    best = model.scored(parse_goal("⊢ ∀ (m : ℕ), m = 2 → m * 1 = 2"))[0][0]
    assert best == "intro m h₁"
    assert goal_kind(parse_goal("⊢ ∀ (m : ℕ), m = 2")) == "intro"


def test_fit_mix_weights_follows_which_component_explains_the_data() -> None:
    rows = [("intro", 0.0, 0.5)] * 20 + [("=", 0.6, 0.01)] * 20
    weights = fit_mix_weights(rows, prior=0.2)
    assert weights["intro"] > 0.8 and weights["="] < 0.1


def test_candidates_for_shapes_where_they_fit() -> None:
    iff = {c.tactic for c in candidates(parse_goal("p : Prop\n⊢ p ↔ p"))}
    assert {"exact Iff.rfl", "exact ⟨fun h ↦ h, fun h ↦ h⟩", "constructor", "rfl", "aesop", "tauto"} <= iff
    eq = {c.tactic for c in candidates(parse_goal("f g : ℕ → ℕ\n⊢ f = g"))}
    assert {"rfl", "ext", "congr!", "trivial"} <= eq
    assert "exact Iff.rfl" not in eq


def _corpus(tmp_path: Path) -> list[ProofStep]:
    rows = []
    for i in range(8):
        rows.append(
            {
                "source": f"a{i}",
                "goals": [f"x y : ℝ\nh₀ : x + y = {i + 3}\nh₁ : x - y = 1\n⊢ x = {i / 2 + 2}"],
                "tactic": "linarith [h₀, h₁]",
            }
        )
        rows.append(
            {"source": f"b{i}", "goals": [f"⊢ ∀ (k : ℕ), k = {i} → k + 1 = {i + 1}"], "tactic": "intro k h₁"}
        )
        rows.append({"source": f"c{i}", "goals": [f"⊢ {i} + {i} = {2 * i}"], "tactic": "norm_num"})
        rows.append(
            {"source": f"d{i}", "goals": [f"h₅ : 0 < {i}\n⊢ {i} ≤ {i} * {i}"], "tactic": "nlinarith [h₅]"}
        )
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return load_corpus(path)


def test_knn_suggestions_name_only_existing_locals(tmp_path: Path) -> None:
    gen = KnnTacticGenerator(_corpus(tmp_path), TrigramEncoder())
    states = [
        "⊢ 5 + 5 = 10",  # neighbours say `nlinarith [h₅]`-like things with hypotheses this goal lacks
        "a : ℝ\nha : 0 < a\n⊢ 2 ≤ 2 * a * a + 2",
        "⊢ ∀ (t : ℕ), t = 3 → t + 1 = 4",
    ]
    out = gen.generate(requests_from_texts(states), 8)
    for state, row in zip(states, out, strict=True):
        names = set(parse_goal(state).names())
        assert row and all(unknown_locals(s.tactic, names) == [] for s in row), row
        assert [s.logprob for s in row] == sorted((s.logprob for s in row), reverse=True)
    assert out[2][0].tactic == "intro t h₁"
    # Diversity: the top 8 holds several heads.
    assert len({s.tactic.split()[0] for s in out[1]}) >= 3


@pytest.mark.shared
def test_real_corpus_suggestions_have_no_unknown_locals() -> None:
    if not SHARED_CORPUS.is_file():
        pytest.skip("../shared is absent")
    steps = load_corpus(SHARED_CORPUS)
    train = [s for s in steps if zlib.crc32(s.source.encode()) % 5][:800]
    test = [s for s in steps if not zlib.crc32(s.source.encode()) % 5][:60]
    gen = KnnTacticGenerator(train, TrigramEncoder(), mix_fit_steps=100)
    from prover.generation.base import GenerationRequest

    for step in test:
        row = gen.generate([GenerationRequest(goals=step.goals)], 8)[0]
        names = set(parse_goal(step.goals[0]).names())
        assert all(unknown_locals(s.tactic, names) == [] for s in row), (step.goals[0], row)
