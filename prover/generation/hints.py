"""Candidate tactics built from the state itself: ``intro`` with the goal's own binder names, hint lists.

Half of the tactics real provers write mention the state: ``intro answer h₁ x h₂`` names the goal's binders,
``norm_num [h₀, h₁]`` and ``nlinarith [h₀, sq_nonneg (a - b)]`` list its hypotheses (ranked here by how much
of the target they talk about), ``rw [h₁]`` rewrites with an equation whose left side occurs in the target.
Every name used is a hypothesis of the goal or a binder name printed in its target, never copied binder text
(``intro F ∈ ?w`` is not a tactic), so these candidates always pass the local-name check (``names.py``).
Retrieved premise names, when the caller has some, extend the lists of ``simp``/``rw``/``norm_num``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from prover.generation.goals import IDENT, Goal

_IDENT_FULL = re.compile(rf"^{IDENT}$")
_WORD = re.compile(IDENT)
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


@dataclass(frozen=True)
class Candidate:
    """A proposed tactic and the template it instantiates (what per-shape statistics are counted on)."""

    template: str
    tactic: str


@dataclass(frozen=True)
class TelescopeItem:
    """One thing ``intro`` would introduce: a bound variable (``name``) or a premise (``premise``)."""

    name: str = ""
    premise: str = ""


def _top_level_index(text: str, symbols: Sequence[str]) -> tuple[int, str]:
    """Index and symbol of the first top-level (bracket depth 0) occurrence of one of ``symbols``."""
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif depth == 0:
            for s in symbols:
                if text.startswith(s, i):
                    return i, s
        i += 1
    return -1, ""


def _binder_items(binders: str) -> list[TelescopeItem] | None:
    """``(x y : ℝ) (f : ℝ → ℝ)`` / ``x > 0`` / ``x ∈ S`` / ``x y`` -> items; ``None`` if unreadable."""
    text = binders.strip()
    items: list[TelescopeItem] = []
    if text.startswith(("(", "{", "⦃")):
        for m in re.finditer(r"[({⦃]([^():{}⦃⦄]+?)\s*:\s*", text):
            for name in m.group(1).split():
                if not _IDENT_FULL.match(name) or "✝" in name:
                    return None
                items.append(TelescopeItem(name=name))
        return items or None
    if text.startswith("["):
        return None  # an instance binder: no name to give it
    relation = re.match(rf"^((?:{IDENT}\s*)+?)\s*(>|<|≥|≤|≠|∈|∉|⊆|:)\s*(.+)$", text)
    if relation:
        names = relation.group(1).split()
        if not all(_IDENT_FULL.match(n) and "✝" not in n for n in names):
            return None
        items += [TelescopeItem(name=n) for n in names]
        if relation.group(2) != ":":
            items += [TelescopeItem(premise=f"{n} {relation.group(2)} {relation.group(3)}") for n in names]
        return items
    names = text.split()
    if names and all(_IDENT_FULL.match(n) and "✝" not in n for n in names):
        return [TelescopeItem(name=n) for n in names]
    return None


def telescope(target: str, limit: int = 24) -> list[TelescopeItem]:
    """What repeated ``intro`` introduces from ``target``: ``∀`` binders and ``→`` premises, in order."""
    return list(_telescope(target, limit))


@lru_cache(maxsize=8192)
def _telescope(target: str, limit: int) -> tuple[TelescopeItem, ...]:
    items: list[TelescopeItem] = []
    t = " ".join(target.split())
    while t and len(items) < limit:
        if t.startswith("∀"):
            comma, _ = _top_level_index(t, (",",))
            if comma < 0:
                break
            binder = _binder_items(t[1:comma])
            if binder is None:
                break
            items += binder
            t = t[comma + 1 :].strip()
            continue
        if t.startswith(("∃", "fun", "λ", "¬")):
            break
        iff, _ = _top_level_index(t, ("↔",))
        arrow, _ = _top_level_index(t, ("→",))
        if arrow < 0 or (0 <= iff < arrow):
            break
        items.append(TelescopeItem(premise=t[:arrow].strip()))
        t = t[arrow + 1 :].strip()
    return tuple(items[:limit])


def _hyp_names(count: int, start: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    i = start
    while len(names) < count:
        name = "h" + "".join(_SUBSCRIPTS[int(d)] for d in str(i))
        if name not in taken:
            names.append(name)
            taken.add(name)
        i += 1
    return names


def intro_candidates(goal: Goal) -> list[Candidate]:
    """``intro`` variants naming the goal's own binders, premises as ``h₀ h₁ …`` / ``h₁ …`` / ``rfl``."""
    items = telescope(goal.target)
    if not items:
        return []
    taken = set(goal.names()) | {i.name for i in items if i.name}
    out: list[Candidate] = []
    premises = [i for i in items if i.premise]

    def words(start: int, rfl: bool = False) -> list[str]:
        hyps = iter(_hyp_names(len(premises), start, set(taken)))
        vars_so_far: set[str] = set()
        out_words = []
        for item in items:
            if item.name:
                vars_so_far.add(item.name)
                out_words.append(item.name)
            else:
                name = next(hyps)
                lhs = item.premise.split(" = ", 1)[0].strip() if " = " in item.premise else ""
                out_words.append("rfl" if rfl and lhs in vars_so_far else name)
        return out_words

    out.append(Candidate("intro all h₁", "intro " + " ".join(words(1))))
    out.append(Candidate("intro all h₀", "intro " + " ".join(words(0))))
    if premises:
        rintro = words(1, rfl=True)
        if "rfl" in rintro:
            out.append(Candidate("rintro rfl", "rintro " + " ".join(rintro)))
    first = items[0].name or "h"
    out.append(Candidate("intro first", f"intro {first}"))
    leading = []
    for item in items:
        if not item.name:
            break
        leading.append(item.name)
    if 1 < len(leading) < len(items):
        out.append(Candidate("intro vars", "intro " + " ".join(leading)))
    return out


def _identifiers(text: str) -> set[str]:
    return set(_WORD.findall(text))


def ranked_hypotheses(goal: Goal) -> list[str]:
    """Assumption names, most relevant to the target first (shared identifiers; equations defining a target
    variable first), ties in the state's order."""
    target_ids = _identifiers(goal.target)
    scored = []
    for pos, h in enumerate(goal.hypotheses):
        if h.is_variable or "✝" in h.name:
            continue
        ids = _identifiers(h.type)
        score = len(ids & target_ids)
        lhs = h.type.split(" = ", 1)[0].strip() if " = " in h.type else ""
        if lhs and lhs in target_ids:
            score += 2
        scored.append((-score, pos, h.name))
    return [name for _, _, name in sorted(scored)]


def _in_state_order(goal: Goal, names: Sequence[str]) -> list[str]:
    order = {h.name: i for i, h in enumerate(goal.hypotheses)}
    return sorted(names, key=lambda n: order.get(n, 1 << 30))


def _rewrite_equations(goal: Goal) -> list[str]:
    """Hypotheses ``lhs = rhs`` whose left side occurs in the target (what ``rw`` can use), state order."""
    target_ids = _identifiers(goal.target)
    out = []
    for h in goal.hypotheses:
        if h.is_variable or "✝" in h.name or " = " not in h.type:
            continue
        lhs = h.type.split(" = ", 1)[0].strip()
        if lhs in target_ids or (lhs and lhs in goal.target):
            out.append(h.name)
    return out


def hint_candidates(goal: Goal, premises: Sequence[str] = (), per_head: int = 3) -> list[Candidate]:
    """``HEAD [hints]`` for the heads whose lists are mostly local hypotheses, a few variants per head."""
    ranked = ranked_hypotheses(goal)
    out: list[Candidate] = []
    target = " ".join(goal.target.split())
    for h in goal.hypotheses:  # a hypothesis that is the target closes it
        if not h.is_variable and "✝" not in h.name and " ".join(h.type.split()) == target:
            out.append(Candidate("exact hyp", f"exact {h.name}"))
            break
    if ranked:
        all_hyps = _in_state_order(goal, ranked[:8])
        top = _in_state_order(goal, ranked[:per_head])
        best = ranked[:1]
        lists = {"all": all_hyps, "top": top, "best": best}
        for head in ("norm_num", "simp", "linarith", "nlinarith", "field_simp", "simp_all", "omega"):
            seen: set[tuple[str, ...]] = set()
            for label, names in lists.items():
                if not names or tuple(names) in seen:
                    continue
                seen.add(tuple(names))
                if head == "omega":
                    continue
                out.append(Candidate(f"{head} [{label}]", f"{head} [{', '.join(names)}]"))
        out.append(Candidate("norm_num [all] at *", f"norm_num [{', '.join(all_hyps)}] at *"))
        out.append(Candidate("simp [all] at *", f"simp [{', '.join(all_hyps)}] at *"))
        out.append(Candidate("subst best", f"subst {best[0]}"))
    eqs = _rewrite_equations(goal)
    if eqs:
        out.append(Candidate("rw [eqs]", f"rw [{', '.join(eqs)}]"))
        out.append(Candidate("rw [eq]", f"rw [{eqs[0]}]"))
        out.append(Candidate("simp only [eqs]", f"simp only [{', '.join(eqs)}]"))
        out.append(Candidate("subst eq", f"subst {' '.join(eqs)}"))
    real_vars = [h.name for h in goal.hypotheses if h.is_variable and h.type.strip() in ("ℝ", "ℚ")]
    if len(real_vars) >= 2:
        pairs = list(combinations(real_vars, 2))
        squares = [f"sq_nonneg ({a} - {b})" for a, b in pairs[:4]]
        squares += [f"sq_nonneg ({a} + {b})" for a, b in pairs[:2]]
        out.append(Candidate("nlinarith [squares]", f"nlinarith [{', '.join(squares)}]"))
        if ranked:
            hyps = ", ".join(_in_state_order(goal, ranked[:4]))
            out.append(
                Candidate("nlinarith [hyps, squares]", f"nlinarith [{hyps}, {', '.join(squares[:3])}]")
            )
    elif real_vars:
        v = real_vars[0]
        out.append(Candidate("nlinarith [squares]", f"nlinarith [sq_nonneg {v}, sq_nonneg ({v} - 1)]"))
    names = [p for p in premises if p and _IDENT_FULL.match(p.split(".")[-1] or "x")][:per_head]
    if names:
        local = ranked[:per_head]
        listed = ", ".join([*local, *names])
        out.append(Candidate("simp [hyps, premises]", f"simp [{listed}]"))
        out.append(Candidate("norm_num [hyps, premises]", f"norm_num [{listed}]"))
        out.append(Candidate("rw [premise]", f"rw [{names[0]}]"))
        out.append(Candidate("simp [premises]", f"simp [{', '.join(names)}]"))
    return out
