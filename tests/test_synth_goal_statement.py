"""Statements rebuilt from pretty-printed goals (Alchemy's round trip), on our own goals and the shared real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.lean.goal_statement import REJECTIONS, statement_from_goal, statement_problems
from prover.lean.statement import split_statement

SHARED_STEPS = (
    Path(__file__).resolve().parent.parent.parent / "shared/data/tactics/fps-search-proof-steps.jsonl"
)


def test_plain_goal_becomes_binders_and_conclusion() -> None:
    goal = "a b : ℝ\nh₀ : 0 < a\nh₁ : a ≤\n    b + 1\n⊢ a * a ≤\n  (b + 1) * (b + 1)"
    res = statement_from_goal(goal, "t1")
    assert res.ok, res.reason
    assert res.statement == "theorem t1 (a b : ℝ) (h₀ : 0 < a) (h₁ : a ≤ b + 1) : a * a ≤ (b + 1) * (b + 1)"
    parts = split_statement(res.statement)
    assert parts.name == "t1" and parts.type == "a * a ≤ (b + 1) * (b + 1)"


def test_inaccessible_names_get_fresh_non_clashing_names_everywhere() -> None:
    goal = "x✝¹ x✝ : ℕ\nx_1 : ℕ\nh : x✝¹ < x✝\n⊢ x✝ + x_1 ≠ x✝¹"
    res = statement_from_goal(goal)
    assert res.ok, res.reason
    renamed = dict(res.renamed)
    assert set(renamed) == {"x✝¹", "x✝"} and len(set(renamed.values())) == 2
    assert "x_1" not in renamed.values() and "✝" not in res.statement
    a, b = renamed["x✝¹"], renamed["x✝"]
    assert f"({a} {b} : ℕ)" in res.statement and f"(h : {a} < {b})" in res.statement
    assert res.statement.endswith(f": {b} + x_1 ≠ {a}")


def test_instances_become_instance_binders_and_universes_are_declared() -> None:
    goal = "case h\nα : Type u_1\ninst✝¹ : Fintype α\ninst✝ : DecidableEq α\ns : Finset α\n⊢ s.card ≤ Fintype.card α"
    res = statement_from_goal(goal, "t")
    assert res.ok, res.reason
    assert res.statement == (
        "theorem t.{u_1} (α : Type u_1) [Fintype α] [DecidableEq α] (s : Finset α) : s.card ≤ Fintype.card α"
    )


@pytest.mark.parametrize(
    ("goal", "reason", "kind"),
    [
        ("x : ℕ\n⊢ ?w = x", "metavariable ?w", "metavariable"),
        ("⊢ 2 * ?m.8325 = 4", "metavariable ?m", "metavariable"),
        ("⊢ [0, 4] = Nat.digitsAux 9 ⋯ 36", "elided term", "elided term"),
        ("w : ℝ := √5\nhw : w = √5\n⊢ w ^ 2 = 5", "let-bound hypothesis w", "let-bound hypothesis"),
        ("x : ℕ\n⊢ 77 ∣ (1 + (2 +", "unclosed bracket", "cut off"),
        ("x : ℕ", "expected hypothesis lines and one '⊢'", "not one goal"),
        ("⊢ True\n⊢ False", "not one goal", "not one goal"),
        ("answer : ℝ\n⊢ ↑(3 / 20) = answer", "coercion of a literal", "coercion of a literal"),
        ("x : ℝ\n⊢ x = ↑2", "coercion of a literal ↑2", "coercion of a literal"),
    ],
)
def test_unrepresentable_goals_are_rejected_with_the_reason(goal: str, reason: str, kind: str) -> None:
    res = statement_from_goal(goal)
    assert not res.ok and res.statement is None
    assert reason in (res.reason or "") and res.kind == kind and kind in REJECTIONS


def test_coercions_of_named_terms_are_kept_their_source_type_comes_from_the_binders() -> None:
    res = statement_from_goal("n : ℕ\nx : ℝ\nh : ↑n = x\n⊢ ↑⌊x⌋ + ↑(n + 1) = (↑(3 / 20 : ℚ) : ℝ)", "c")
    assert res.ok and res.kind == "", res.reason
    assert res.statement.endswith(": ↑⌊x⌋ + ↑(n + 1) = (↑(3 / 20 : ℚ) : ℝ)")


def test_structure_instances_in_a_hypothesis_are_not_lets() -> None:
    goal = "z : ℂ\nh : z =\n  { re := -4, im := -5 } + 1\n⊢ z.re = -3"
    res = statement_from_goal(goal)
    assert res.ok, res.reason
    assert "(h : z = { re := -4, im := -5 } + 1)" in res.statement


def test_statement_problems_flags_what_the_lexer_or_splitter_refuses() -> None:
    assert statement_problems("theorem t (n : ℕ) : n = n") == []
    assert statement_problems("theorem t (n : ℕ : n = n")
    assert statement_problems('theorem t : "unterminated')
    assert statement_problems("theorem t : x = ?y") == ["metavariable ?y"]


@pytest.mark.skipif(not SHARED_STEPS.is_file(), reason="../shared/data/tactics is not here")
def test_every_shared_goal_becomes_a_well_formed_statement_or_is_rejected_with_a_reason() -> None:
    steps = [
        json.loads(line) for line in SHARED_STEPS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert len(steps) == 2403
    ok = 0
    kinds: dict[str, int] = {}
    goals = [s["goals"][s["goal_id"]] for s in steps] + [g for s in steps for g in s["goals"]]
    for i, goal in enumerate(goals):
        res = statement_from_goal(goal, f"g{i}")
        kinds[res.kind] = kinds.get(res.kind, 0) + 1
        assert res.ok == (res.kind == "") and (res.ok or res.kind in REJECTIONS), (goal, res.reason)
        if res.ok:
            ok += 1
            assert res.statement is not None and statement_problems(res.statement) == [], (
                goal,
                res.statement,
            )
            assert "✝" not in res.statement and "⋯" not in res.statement
            names = res.statement.split(":")[0]
            assert len(names.split()) >= 2
        else:
            assert res.reason and res.reason.strip(), goal
    # most real goals round-trip; the rest are metavariables (?w from `use`/answer search), coercions of literals
    # (`↑(3 / 20)`: the literal's type is not printed), ⋯ and lets
    assert ok / len(goals) > 0.6, (ok, kinds)
    assert kinds.get("metavariable", 0) > kinds.get("coercion of a literal", 0) > 0, kinds
