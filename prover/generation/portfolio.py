"""The automation portfolio: closing tactics proposed by the shape of the goal, with learnable priors.

Most competition-style goals fall to one of a dozen decision procedures; the question is which to try first.
Priors come from how often each automation tactic (by its head word) closes or advances goals in a corpus
(``learn_priors``), or from built-in defaults; fixed target-shape rules then shift them (an inequality over ℝ favours
``linarith``/``nlinarith``/``positivity``, ``%`` or ℕ favours ``omega``/``decide``/``norm_num``). Some
candidates are instantiated with the local hypotheses (``norm_num [h₀, h₁]``, ``nlinarith [sq_nonneg (a - b)]``).
The scores are normalised into a distribution, so ``logprob`` is a true log-probability under this model.

Formal problem solving's answer goals get their own rules. A target that mentions the answer metavariable
(``⊢ f 3 = ?w``) puts ``rfl`` first, which assigns the answer by unification. The answer hole itself, a goal
whose target is a type to inhabit (``case w`` ``⊢ ℤ``), is no proposition: no automation is offered there,
only the witness candidates read from the other goals (``prover.generation.answers``).
This is ``generator=portfolio`` and the automation-only baseline of the benchmark; the kNN generator uses the
shape model of ``mix.py`` instead, whose rates are learned per goal shape.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations

from prover.generation.answers import answer_candidates
from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.goals import Goal, looks_like_type, parse_goal
from prover.generation.hints import intro_candidates
from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS, check_k, check_requests

#: Head words of the automation tactics and their default prior weights (relative frequencies).
DEFAULT_PRIORS: dict[str, float] = {
    "norm_num": 0.20,
    "simp": 0.14,
    "linarith": 0.12,
    "nlinarith": 0.10,
    "omega": 0.09,
    "simp_all": 0.05,
    "ring_nf": 0.05,
    "field_simp": 0.04,
    "positivity": 0.04,
    "decide": 0.03,
    "aesop": 0.03,
    "rfl": 0.03,
    "intro": 0.03,
    "constructor": 0.02,
    "ring": 0.03,
    "tauto": 0.01,
    "exact?": 0.0,
}
_NEVER = {"exact?", "apply?", "rw?", "hint", "sorry", "admit"}
_REALISH = ("ℝ", "ℚ", "ℂ", "Real", "√", "π", "Real.sqrt", "Real.log", "Real.exp")
_NATISH = ("ℕ", "ℤ", "Nat", "Int", "%", "∣", "Finset", "Nat.factorial", "!")
#: A metavariable in a target (``?w``, ``?a``), not a name with ``?`` inside it (``h?``).
_MVAR = re.compile(r"(?<![\w'!?.])\?[^\W\d][\w'!?₀-₉]*")


def head_word(tactic: str) -> str:
    """The tactic's name: ``nlinarith [sq_nonneg (a - b)]`` -> ``nlinarith``."""
    words = tactic.strip().split()
    return words[0] if words else ""


def learn_priors(tactics: Iterable[str], smoothing: float = 1.0) -> dict[str, float]:
    """Relative frequency of each automation head word among a corpus's tactics (add-``smoothing``)."""
    counts = Counter(head_word(t) for t in tactics)
    raw = {name: counts.get(name, 0) + smoothing for name in DEFAULT_PRIORS if name not in _NEVER}
    total = sum(raw.values())
    return {name: value / total for name, value in raw.items()}


def _shape_bonus(goal: Goal, goal_count: int) -> dict[str, float]:
    """Multiplicative preferences from the target's shape (log-space additions)."""
    target = goal.target
    context = " ".join(h.type for h in goal.hypotheses) + " " + target
    real = any(tok in context for tok in _REALISH)
    natish = any(tok in context for tok in _NATISH) and not real
    ineq = any(op in target for op in ("≤", "<", "≥", ">"))
    bonus: Counter[str] = Counter()
    if ineq and real:
        bonus.update({"nlinarith": 1.2, "linarith": 1.0, "positivity": 0.6})
    if ineq and natish:
        bonus.update({"omega": 1.0, "nlinarith": 0.4, "linarith": 0.3})
    if natish:
        bonus.update({"omega": 1.0, "decide": 0.6, "norm_num": 0.5, "simp": 0.3})
    if "%" in target or "∣" in target:
        bonus.update({"omega": 0.8, "decide": 0.6, "norm_num": 0.6})
    if "=" in target and not ineq:
        bonus.update({"ring_nf": 0.5, "ring": 0.5, "norm_num": 0.4, "simp": 0.3, "rfl": 0.2})
        if "/" in target and real:
            bonus.update({"field_simp": 1.0})
    if target.startswith(("0 <", "0 ≤")) and real:
        bonus.update({"positivity": 1.0})
    if "∀" in target or "→" in target:
        bonus.update({"intro": 1.5, "simp": 0.3})
    if "∧" in target or "↔" in target:
        bonus.update({"constructor": 1.0, "aesop": 0.5, "tauto": 0.3})
    if "∃" in target:
        bonus.update({"aesop": 0.3})
    if not re.search(r"[A-Za-zα-ω]", target.replace("⊢", "")):  # closed numeric goal
        bonus.update({"norm_num": 1.5, "decide": 0.8, "rfl": 0.5, "simp": 0.5})
    if goal_count > 1:  # several goals: automation that sees them all
        bonus.update({"simp_all": 0.3, "aesop": 0.2})
    if assigns_by_rfl(target):
        bonus.update({"rfl": RFL_ON_ANSWER})  # `⊢ f 3 = ?w`: unification assigns the answer
    return dict(bonus)


#: The log-space bonus of ``rfl`` on a target relating a term to a metavariable (it comes first).
RFL_ON_ANSWER = 4.0


def assigns_by_rfl(target: str) -> bool:
    """An equation or ``↔`` with a metavariable in it (``f 3 = ?w``): ``rfl`` assigns it by unification."""
    return bool(_MVAR.search(target)) and bool(re.search(r"(?<![<>≤≥≠:])=|↔", target))


def _instantiated(goal: Goal) -> list[tuple[str, str]]:
    """Candidates that mention local names: (head word for the prior, tactic text)."""
    props = [h.name for h in goal.hypotheses if not h.is_variable and "✝" not in h.name]
    real_vars = [h.name for h in goal.hypotheses if h.is_variable and h.type.strip() in ("ℝ", "ℚ")]
    out: list[tuple[str, str]] = []
    if props:
        listed = ", ".join(props[:6])
        out += [
            ("norm_num", f"norm_num [{listed}] at *"),
            ("linarith", f"linarith [{listed}]"),
            ("simp", f"simp [{listed}]"),
            ("nlinarith", f"nlinarith [{listed}]"),
        ]
        out.append(("subst", f"subst {props[0]}"))
    if len(real_vars) >= 2:
        squares = ", ".join(f"sq_nonneg ({a} - {b})" for a, b in list(combinations(real_vars, 2))[:4])
        squares += ", " + ", ".join(f"sq_nonneg ({a} + {b})" for a, b in list(combinations(real_vars, 2))[:2])
        out.append(("nlinarith", f"nlinarith [{squares}]"))
    elif real_vars:
        out.append(("nlinarith", f"nlinarith [sq_nonneg {real_vars[0]}, sq_nonneg ({real_vars[0]} - 1)]"))
    # `intro` names the goal's own binders (never copies binder text such as `F ∈ ?w`).
    intros = intro_candidates(goal)
    if intros:
        out.append(("intro", intros[0].tactic))
    return out


_PROPOSITION_SIGNS = re.compile(r"[=<>≤≥≠∣∧∨¬↔∈∉⊆⊂∀∃]|\bTrue\b|\bFalse\b")


def is_answer_hole(goal: Goal) -> bool:
    """A goal whose target is a type to inhabit: a known type (``⊢ ℤ``, ``⊢ ℕ → ℝ``, ``⊢ Set ℝ``), or any
    target without a relation or connective in the witness goal ``case w`` that ``apply Exists.intro`` (the
    FPS prelude) and ``refine ⟨?w, ?_⟩`` name (``⊢ EuclideanSpace ℝ (Fin 2)``)."""
    target = goal.target.strip()
    if not target:
        return False
    return looks_like_type(target) or (goal.case == "w" and not _PROPOSITION_SIGNS.search(target))


def _answer_hole(goal: Goal, others: Sequence[Goal]) -> list[Suggestion]:
    """The answer hole (``⊢ ℤ``): a term to construct, which the proof automation cannot supply (``norm_num``
    and friends fail on a type, or worse, pick an arbitrary inhabitant). Only the witnesses read from the
    other goals (``exact 9`` for ``⊢ 4 + 5 = ?w``) are offered, uniformly; none when there are none."""
    tactics = list(dict.fromkeys(c.tactic for c in answer_candidates(goal, others)))
    if not tactics:
        return []
    logprob = -math.log(len(tactics))
    return [Suggestion(logprob, t) for t in tactics]


class AutomationPortfolio(TacticGenerator):
    """Proposes automation tactics for each state, normalised to a distribution per state."""

    def __init__(
        self,
        priors: dict[str, float] | None = None,
        max_state_chars: int = DEFAULT_MAX_STATE_CHARS,
        instantiated_discount: float = 0.6,
    ) -> None:
        self.priors = {k: v for k, v in (priors or DEFAULT_PRIORS).items() if k not in _NEVER and v > 0}
        self.max_state_chars = max_state_chars
        self.instantiated_discount = instantiated_discount

    def scored(self, request: GenerationRequest) -> list[Suggestion]:
        """All candidates for one request with normalised log-probabilities, best first.

        The shape rules read the first goal (the one a tactic acts on) and the number of goals.
        """
        goal = parse_goal(request.first_goal) if request.goals else Goal()
        if is_answer_hole(goal):
            return _answer_hole(goal, [parse_goal(g) for g in request.goals[1:]])
        bonus = _shape_bonus(goal, len(request.goals))
        raw: dict[str, float] = {}
        for name, prior in self.priors.items():
            if name in ("intro",):  # only meaningful with binder names, see _instantiated
                continue
            raw[name] = math.log(prior) + bonus.get(name, 0.0)
        floor = math.log(min(self.priors.values()) if self.priors else 1e-3)
        for name, tactic in _instantiated(goal):
            prior = self.priors.get(name, math.exp(floor))
            raw[tactic] = math.log(prior * self.instantiated_discount) + bonus.get(name, 0.0)
        if "rfl" not in raw and assigns_by_rfl(goal.target):  # priors without `rfl` still offer it here
            raw["rfl"] = floor + RFL_ON_ANSWER
        norm = math.log(sum(math.exp(v) for v in raw.values())) if raw else 0.0
        return sorted((Suggestion(v - norm, t) for t, v in raw.items()), key=lambda s: -s.logprob)

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        requests = check_requests(requests, self.max_state_chars)
        check_k(k)
        return [dedupe_best(self.scored(r), k) for r in requests]
