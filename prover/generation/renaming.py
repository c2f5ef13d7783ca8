"""Rewrite a neighbour's tactic to the local names of our state: by type and shape first, position last.

A kNN neighbour's ``rw [h₄, h₅]`` is only useful when ``h₄`` becomes *our* hypothesis that plays the same role.
Variables map to ours of the same type (same name first, then in order). Assumptions map to ours with the same
type after the variable renaming; then to ours with the same shape (the same top-level connective or relation
and similar tokens, numerals and variables abstracted); position only breaks ties. Two names are never merged
into one: the check runs on the mapping that is actually applied, together with the names the tactic keeps.
Whatever still names a local that our state lacks is repaired or dropped by the caller (``names.repair``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache

from prover.generation.goals import IDENT, Goal, Hypothesis, rename_identifiers
from prover.generation.hints import telescope
from prover.generation.names import bound_names

#: Prefix of the placeholder for a neighbour's assumption that has no counterpart here (looks like a local
#: name to ``names.py``, and no pretty-printed state has it).
DANGLING = "hNA_"
_TOKENS = re.compile(rf"{IDENT}|\d+(?:\.\d+)?|\S")
#: Top-level connectives and relations, weakest binding first: the first one found is the shape's head.
_CONNECTIVES = ("↔", "→", "∨", "∧", "≠", "≤", "≥", "<", ">", "=", "∣", "∈", "∉", "⊆", "¬")


@lru_cache(maxsize=16384)
def shape_head(prop: str) -> str:
    """The outermost connective/relation of a proposition (``∀``/``∃`` for quantified ones), '' if none."""
    t = prop.strip()
    if t.startswith(("∀", "∃")):
        return t[0]
    depth = 0
    found: dict[str, int] = {}
    for i, ch in enumerate(t):
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif depth == 0 and ch in _CONNECTIVES and ch not in found:
            found[ch] = i
    for c in _CONNECTIVES:
        if c in found:
            return {"≥": "≤", ">": "<"}.get(c, c)
    return ""


def _skeleton(prop: str, variables: set[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for tok in _TOKENS.findall(prop):
        if tok in variables:
            out["V"] += 1
        elif tok[0].isdigit():
            out["N"] += 1
        else:
            out[tok] += 1
    return out


def shape_similarity(a: str, b: str, variables: set[str]) -> float:
    """0 when the heads differ, else the multiset Jaccard similarity of the skeletons (1 for equal text)."""
    if " ".join(a.split()) == " ".join(b.split()):
        return 1.0
    if shape_head(a) != shape_head(b):
        return 0.0
    sa, sb = _skeleton(a, variables), _skeleton(b, variables)
    union = sum((sa | sb).values())
    return 0.5 * sum((sa & sb).values()) / union if union else 0.0


def _variable_mapping(theirs: list[Hypothesis], ours: list[Hypothesis]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    free: dict[str, list[str]] = defaultdict(list)
    for h in ours:
        free[" ".join(h.type.split())].append(h.name)
    pending = []
    for h in theirs:  # same name and type: keep
        typ = " ".join(h.type.split())
        if h.name in free[typ]:
            mapping[h.name] = h.name
            free[typ].remove(h.name)
        else:
            pending.append((h, typ))
    for h, typ in pending:  # same type, in order
        if free[typ]:
            mapping[h.name] = free[typ].pop(0)
    return mapping


def name_mapping(neighbour: Goal, goal: Goal) -> dict[str, str]:
    """Their local name -> ours, before the merge check (see :func:`adapt_tactic`)."""
    their_vars = [h for h in neighbour.hypotheses if h.is_variable]
    our_vars = [h for h in goal.hypotheses if h.is_variable]
    mapping = _variable_mapping(their_vars, our_vars)
    variables = {h.name for h in our_vars}
    their_props = [(i, h) for i, h in enumerate(neighbour.hypotheses) if not h.is_variable]
    our_props = [(j, h) for j, h in enumerate(goal.hypotheses) if not h.is_variable and "✝" not in h.name]
    pairs = []
    for pi, (_i, theirs) in enumerate(their_props):
        renamed = rename_identifiers(theirs.type, mapping)
        for pj, (_, ours) in enumerate(our_props):
            score = shape_similarity(renamed, ours.type, variables)
            if score > 0:
                pairs.append((-score, abs(pi - pj), pi, pj))
    pairs.sort()
    used_theirs: set[int] = set()
    used_ours: set[int] = set()
    for _, _, pi, pj in pairs:
        if pi in used_theirs or pj in used_ours:
            continue
        used_theirs.add(pi)
        used_ours.add(pj)
        mapping[their_props[pi][1].name] = our_props[pj][1].name
    return mapping


def adapt_tactic(tactic: str, neighbour: Goal, goal: Goal) -> str:
    """``tactic`` (written for ``neighbour``) with its local names renamed to ``goal``'s.

    The applied mapping is injective over every name the tactic mentions: an entry whose target another name
    already takes (a mapped name or one the tactic keeps as it is) is dropped, so ``norm_num [h₂, h₃]`` never
    turns into ``norm_num [h₂, h₂]``. Names the tactic binds itself (``intro x``) are left alone.
    """
    mapping = name_mapping(neighbour, goal)
    bound = bound_names(tactic)
    mentioned = set(re.findall(IDENT, tactic)) - bound
    mapping = {k: v for k, v in mapping.items() if k in mentioned}
    if tactic.lstrip().startswith(("intro", "rintro")):
        # `intro k h₁` on their `∀ (k : ℕ), …` names our binder as our goal does: `intro t h₁`.
        theirs_tel, ours_tel = telescope(neighbour.target), telescope(goal.target)
        for a, b in zip(theirs_tel, ours_tel, strict=False):
            if a.name and b.name and a.name in bound and a.name not in mapping:
                mapping[a.name] = b.name
                mentioned.add(a.name)
        bound = bound - set(mapping)
    # Their assumptions without a counterpart must not silently mean one of ours that has the same name:
    # they become a name no state has, which `names.repair` then removes (or the suggestion is dropped).
    ours = set(goal.names())
    for i, h in enumerate(neighbour.hypotheses):
        if not h.is_variable and h.name in mentioned and h.name not in mapping and h.name in ours:
            mapping[h.name] = f"{DANGLING}{i}"
    # Priority: the order of `name_mapping` (kept names, same-type variables, then hypotheses by score).
    order = list(mapping)
    applied = dict(mapping)
    while True:
        image: dict[str, list[str]] = defaultdict(list)
        for name in mentioned:
            image[applied.get(name, name)].append(name)
        for name in bound:
            image[name].append(name)
        victims = set()
        for names in image.values():
            renamed = [n for n in names if n in applied and applied[n] != n]
            if len(names) > 1 and renamed:
                victims.add(max(renamed, key=order.index))  # the lowest-priority renaming gives way
        if not victims:
            break
        for v in victims:
            del applied[v]
    return rename_identifiers(tactic, applied)
