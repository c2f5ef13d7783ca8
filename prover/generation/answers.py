"""Answer-finding goals (formal problem solving): propose the shape of a witness, not a neighbour's answer.

In FPS states the answer is a metavariable (``⊢ ?w = 2 ^ 2010 % 10``) or an existential
(``⊢ ∃ answer, …``). A neighbour's answer term belongs to another problem, so copying it is useless; what
transfers is the *shape* of the step: split the existential (``refine ⟨?_, ?_⟩``, ``exact ⟨_, _⟩``), let
unification pick the witness (``rfl``, ``norm_num``), or ``use v`` with a value taken from the state: numerals
that hypotheses assign to variables, and closed arithmetic in the target evaluated exactly (rationals). These
are the suggestions the FPS solver (``prover solve``) searches with.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from fractions import Fraction

from prover.generation.goals import Goal, looks_like_type
from prover.generation.hints import Candidate

_META = re.compile(r"\?[^\W\d][\w'!?]*")
_NUMERAL = r"-?\d+(?:\.\d+)?"
_CLOSED = re.compile(r"^[\d\s+\-*/^().%]+$")


def is_answer_goal(goal: Goal) -> bool:
    """A goal whose answer is still open (metavariable or existential) or that talks about ``answer``."""
    t = goal.target
    return bool(_META.search(t)) or t.startswith("∃") or "answer" in goal.names() or "answer" in t


def evaluate_closed(expr: str, max_exponent: int = 64) -> Fraction | None:
    """Exact value of closed arithmetic (numerals, + - * / ^ %, parentheses), ``None`` for anything else."""
    text = expr.strip()
    if not text or not _CLOSED.match(text):
        return None
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError):
        return None

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                if b == 0:
                    raise ZeroDivisionError
                return a / b
            if isinstance(node.op, ast.Pow) and b.denominator == 1 and abs(b) <= max_exponent:
                return a ** int(b)
            if isinstance(node.op, ast.Mod) and a.denominator == b.denominator == 1 and b != 0:
                return a % b
        raise ValueError("not closed arithmetic")

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def lean_value(v: Fraction) -> str:
    """A numeral Lean reads: ``5``, ``-3``, ``7 / 2``, ``(-7) / 2``."""
    if v.denominator == 1:
        return str(v.numerator)
    num = f"({v.numerator})" if v.numerator < 0 else str(v.numerator)
    return f"{num} / {v.denominator}"


def candidate_values(goal: Goal, limit: int = 3) -> list[str]:
    """Witness candidates from the state: closed sides of the target's equations, then numerals that
    hypotheses assign (``h : x = 5``), most recent first; de-duplicated, at most ``limit``."""
    values: list[str] = []
    for side in re.split(r"=|≤|<|≥|>|,|∧", goal.target):
        side = side.strip().lstrip("∃").strip()
        if _META.search(side):
            continue
        v = evaluate_closed(side)
        if v is not None:
            values.append(lean_value(v))
    for h in reversed(goal.hypotheses):
        m = re.fullmatch(rf"\s*[^\W\d][\w'!?]*\s*=\s*({_NUMERAL}(?:\s*/\s*\d+)?)\s*", h.type)
        if m:
            v = evaluate_closed(m.group(1))
            if v is not None:
                values.append(lean_value(v))
    out: list[str] = []
    for text in values:
        if text not in out:
            out.append(text)
    return out[:limit]


def witness_candidates(others: Sequence[Goal], limit: int = 3) -> list[Candidate]:
    """For a goal that *is* the answer's type (``⊢ ℕ``): ``exact`` the closed side of another goal's equation
    with the metavariable (verbatim and evaluated), or a numeral those goals' hypotheses assign."""
    out: list[Candidate] = []
    for goal in others:
        if not _META.search(goal.target):
            continue
        for side in re.split(r"=|≤|<|≥|>|∧", goal.target):
            side = side.strip()
            if not side or _META.search(side):
                continue
            v = evaluate_closed(side)
            if v is not None:
                out.append(Candidate("exact closed side", f"exact {' '.join(side.split())}"))
                out.append(Candidate("exact value", f"exact {lean_value(v)}"))
        for text in candidate_values(goal, limit):
            out.append(Candidate("exact hypothesis value", f"exact {text}"))
    return out[: 2 * limit]


def answer_candidates(goal: Goal, others: Sequence[Goal] = ()) -> list[Candidate]:
    """Shape suggestions for an answer goal (empty for other goals); ``others`` are the state's other goals."""
    if looks_like_type(goal.target):
        return witness_candidates(others)
    if not is_answer_goal(goal):
        return []
    t = goal.target
    out: list[Candidate] = []
    if t.startswith("∃"):
        out += [
            Candidate("exists refine", "refine ⟨?_, ?_⟩"),
            Candidate("exists anonymous", "exact ⟨_, _⟩"),
            Candidate("constructor", "constructor"),
        ]
        out += [Candidate("use value", f"use {v}") for v in candidate_values(goal)]
    if _META.search(t):
        out += [Candidate("rfl", "rfl"), Candidate("norm_num", "norm_num"), Candidate("congr 1", "congr 1")]
        if " = " in t:
            out.append(Candidate("exact rfl", "exact rfl"))
    return out
