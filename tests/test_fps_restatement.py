"""The restatement detector: answers that repeat the question are flagged, real answers are not."""

from __future__ import annotations

import pytest

from prover.fps.problem import FpsProblem
from prover.fps.restatement import detect, normal_form_commands


def _problem(**fields) -> FpsProblem:
    base = {
        "id": "nt320",
        "intros": [{"t": "Nat", "name": "n", "v": None}],
        "outros": [
            {"t": "answer < 101", "name": "h₀", "v": None},
            {"t": "101 ∣ (123456 - answer)", "name": "h₁", "v": None},
            {"t": "answer = n", "name": "h_answer", "v": None},
        ],
        "formal_answer": "answer = 34",
        "formal_answer_type": "ℕ",
    }
    return FpsProblem.model_validate({**base, **fields})


@pytest.mark.parametrize("answer", ["34", "(34 : ℕ)", "2 ^ 5 + 2", "fun k : ℕ => k + 1", "{1, 2, 3}"])
def test_values_are_not_flagged(answer: str):
    assert not detect(_problem(), answer).flagged


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("n", "variables: n"),  # the answer is the problem's own variable (the conclusion says answer = n)
        ("n + 0", "variables: n"),
        ("h₀.elim", "hypotheses"),
        ("answer", "`answer` itself"),
        ("{x : ℕ | x < 101 ∧ 101 ∣ (123456 - x)}", "set-builder"),
        ("sSup {x | x < 101 ∧ 101 ∣ 123456 - x}", "set-builder"),
        ("Classical.choose (⟨34, rfl⟩ : ∃ x : ℕ, x = 34)", "choice"),
        ("Nat.find (⟨34, by decide⟩ : ∃ x, x < 101 ∧ 101 ∣ 123456 - x)", "choice"),
    ],
)
def test_restatements_are_flagged_with_a_reason(answer: str, why: str):
    found = detect(_problem(), answer)
    assert found.flagged and any(why in r for r in found.reasons), found.reasons


def test_bound_names_do_not_count_as_problem_variables():
    assert not detect(_problem(), "fun (n : ℕ) => n + 1").flagged
    assert not detect(_problem(), "{q | let ⟨n, _⟩ := q; n = 1}").flagged
    assert detect(_problem(), "fun (k : ℕ) => k + n").intros == ["n"]


def test_extraction_knows_better_than_names():
    """The extraction reports the free variables Lean saw; that list wins over reading names."""
    assert detect(_problem(), "n", intros_mentioned=[]).intros == []
    assert detect(_problem(), "34", intros_mentioned=["n"]).flagged


def test_unlexable_submission_is_flagged():
    assert any("does not lex" in r for r in detect(_problem(), '"open').reasons)


def test_released_output_shapes_are_flagged():
    """Shaped after the released StepProver outputs that closed every goal with a wrong answer: an unevaluated
    expression in the problem's own terms, and a set built from the condition."""
    putnam = FpsProblem.model_validate(
        {
            "id": "pb",
            "outros": [
                {"t": "Type*", "name": "F", "v": None},
                {"t": "Field F", "name": None, "v": None},
                {"t": "Polynomial F", "name": "p", "v": None},
                {"t": "{d : F | Irreducible (p + (C d))}.ncard = answer 3", "name": "h_answer", "v": None},
            ],
            "formal_answer": "answer = fun n => ((n : ℤ) - 1) / 2",
            "formal_answer_type": "ℕ → ℤ",
        }
    )
    assert detect(putnam, "fun n : ℕ => ({d : F | Irreducible (p + C d)}.ncard : ℤ)").flagged
    assert not detect(putnam, "fun n : ℕ => ((n : ℤ) - 1) / 2").flagged


def test_normal_form_probe_commands():
    elaborates, changes = normal_form_commands(_problem(), "30 + 4")
    assert (
        elaborates == "example (n : Nat) (answer : ℕ) (h : answer = (\n30 + 4\n : ℕ)) : True := by\n  trivial"
    )
    assert changes.endswith(": True := by\n  norm_num at h\n  all_goals trivial")
    prop = _problem(formal_answer_type="Prop", formal_answer="@Eq Prop answer True")
    # an FPS Prop answer sits in `answer = (<sub> : Prop)` like any term; D-FPS's is the proposition itself
    assert "(h : answer = (\n1 = 1\n : Prop))" in normal_form_commands(prop, "1 = 1")[1]
    assert "(h : (\n1 = 1\n))" in normal_form_commands(prop, "1 = 1", prop_form=True)[1]


def test_false_positives_of_the_issue_are_gone():
    """Issue 22: dot notation on a bound variable is bound (``fun n => n.succ`` -- one identifier token
    ``n.succ``), and an answer in terms of the intros is what the problem asks when the ground truth is in
    those terms too; an intro the ground truth does not mention is still flagged."""
    assert not detect(_problem(), "fun n : ℕ => n.succ").flagged
    assert not detect(_problem(), "{p : ℕ × ℕ | p.1 = p.2}").flagged
    valued = _problem(formal_answer="answer = n + 1")
    assert not detect(valued, "n + 1").flagged
    assert not detect(valued, "n.succ").flagged
    assert detect(_problem(), "n.succ").flagged  # the ground truth (answer = 34) does not mention n
