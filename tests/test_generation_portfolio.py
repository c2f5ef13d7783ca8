"""`generator=portfolio` on formal problem solving's answer goals (issue 22, point 6).

The FPS prelude leaves two kinds of goals the portfolio used to treat as ordinary propositions: the main goal,
whose target mentions the answer metavariable (``⊢ x + 1 = ?w``: ``rfl`` assigns it by unification), and the
answer hole ``case w`` (``⊢ ℤ``: a type to inhabit, where ``norm_num`` and friends have nothing to prove).
"""

from __future__ import annotations

import math

from prover.generation.base import GenerationRequest
from prover.generation.portfolio import AutomationPortfolio

PROPOSITION_AUTOMATION = {"norm_num", "simp", "linarith", "nlinarith", "omega", "decide", "ring_nf", "aesop"}


def _tactics(goals: tuple[str, ...], k: int = 40, priors: dict[str, float] | None = None) -> list[str]:
    port = AutomationPortfolio(priors)
    return [s.tactic for s in port.generate([GenerationRequest(goals)], k)[0]]


def test_rfl_comes_first_on_a_goal_with_the_answer_metavariable() -> None:
    goal = "x : ℝ\nh₀ : x = 2\n⊢ x ^ 2 + 1 = ?w"
    assert _tactics((goal,), k=1) == ["rfl"]
    assert _tactics(("⊢ 2 ^ 10 % 7 = ?w",), k=1) == ["rfl"]  # also on a closed numeric side
    assert _tactics(("p : Prop\n⊢ p ↔ ?w",), k=1) == ["rfl"]
    # priors that leave `rfl` out still offer it where it assigns the answer
    assert "rfl" in _tactics((goal,), priors={"norm_num": 0.5, "simp": 0.5})
    # an ordinary equation is not an answer goal: rfl keeps its ordinary rank
    assert _tactics(("x : ℝ\n⊢ x ^ 2 + 1 = x * x + 1",), k=1) != ["rfl"]
    # an inequality with a metavariable is not solved by reflexivity's unification
    assert _tactics(("x : ℝ\n⊢ x ≤ ?w",), k=1) != ["rfl"]


def test_no_automation_on_the_answer_hole() -> None:
    hole = "case w\nx : ℝ\n⊢ ℤ"
    offered = _tactics((hole,))
    assert not PROPOSITION_AUTOMATION & {t.split()[0] for t in offered}
    assert offered == []  # nothing to read a witness from
    assert not PROPOSITION_AUTOMATION & {t.split()[0] for t in _tactics(("case w\n⊢ ℕ → ℝ",))}
    # a type the shape reader does not know, in the witness goal the FPS prelude names `case w`
    assert _tactics(("case w\n⊢ EuclideanSpace ℝ (Fin 2)",)) == []
    # a `case w` goal that is a proposition is an ordinary goal
    assert "norm_num" in _tactics(("case w\nx : ℕ\n⊢ x + 0 = x",))


def test_the_answer_hole_gets_witnesses_from_the_other_goals() -> None:
    hole, main = "case w\n⊢ ℕ", "h : 3 = 3\n⊢ 4 + 5 = ?w"
    port = AutomationPortfolio()
    scored = port.scored(GenerationRequest((hole, main)))
    tactics = [s.tactic for s in scored]
    assert "exact 9" in tactics and "exact 4 + 5" in tactics
    assert not PROPOSITION_AUTOMATION & {t.split()[0] for t in tactics}
    assert math.isclose(sum(math.exp(s.logprob) for s in scored), 1.0, rel_tol=1e-9)


def test_ordinary_goals_keep_their_automation() -> None:
    offered = _tactics(("n : ℕ\nh : n % 4 = 3\n⊢ n ^ 2 % 4 = 1",), k=4)
    assert "omega" in offered
