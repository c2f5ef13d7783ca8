"""Local names in tactic text: which identifiers a tactic binds itself and which it takes from the state.

A suggestion that names a hypothesis the state does not have (``rw [h₀]`` on a goal without hypotheses) can
never work, so generators drop or repair such suggestions and the benchmark counts them. What "looks like a
local name" is a syntactic guess, kept deliberately narrow so that library names are never flagged: a dot-free
identifier that is one letter (``x``, ``a₁``, ``K'``), ``h`` plus at most three letters (``h``, ``h₀``,
``hab``, ``hx'``) with digits, subscripts, primes or underscores after it, or ``h_`` and anything (``h_total``). Names the tactic binds itself
(``intro x hx``, ``fun h ↦``, ``obtain ⟨a, ha⟩``, ``have h :``, ``∀ x,``, ``with a b``, ``by_cases h :``) are
not references. Only dotted identifiers' first component is checked (``h₀.le`` needs ``h₀``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

#: Identifiers (dotted, with numeric projections such as ``h.1``), then single symbols we care about.
_TOKEN = re.compile(
    r"(?P<meta>\?[^\W\d][\w'!?]*)"
    r"|(?P<ident>[^\W\d][\w'!?]*(?:\.(?:[^\W\d][\w'!?]*|\d+))*)"
    r"|(?P<sym>:=|=>|<;>|↦|[,;:()\[\]⟨⟩{}|@])"
    r"|(?P<other>\S)"
)
_LOCAL = re.compile(r"^(?:h[A-Za-z]{0,3}|h_\w+|[A-Za-zα-ωΑ-Ω])[\d₀-₉'_]*$")
#: Short words that match the pattern but are never local names (keywords, notations under ``open Real Nat``).
_NOT_LOCAL = frozenset({"have", "hint", "π", "λ", "σ", "φ", "ζ", "Γ", "ℵ", "e"})

#: After these, identifiers up to ``:=``, ``:``, ``;``, ``<;>``, ``=>``, ``at``/``using`` are new names.
_PATTERN_BINDERS = frozenset(
    {
        "intro",
        "intros",
        "rintro",
        "rintros",
        "obtain",
        "with",
        "ext",
        "funext",
        "by_contra",
        "by_contra!",
        "by_contra'",
        "next",
        "case",
        "choose",
        "choose!",
        "|",
        "induction'",
        "cases'",
        "assume",
    }
)
#: After these, identifiers up to a top-level ``,``/``=>``/``↦``/``in``/``∈`` are bound variables.
_TERM_BINDERS = frozenset({"fun", "λ", "∀", "∃", "∃!", "∑", "∏", "⋃", "⋂", "⨆", "⨅", "Π", "Σ"})
#: After these, the next identifier is a new name.
_NAMED = frozenset({"have", "haveI", "let", "letI", "set", "by_cases", "by_cases!", "generalize", "show"})
_STOP_PATTERN = frozenset({":=", ":", ";", "<;>", "=>", "at", "using", "from", "in"})
_STOP_TERM = frozenset({",", "=>", "↦", "in", "∈", ";", ":="})
_OPEN = frozenset({"(", "[", "⟨", "{"})
_CLOSE = frozenset({")", "]", "⟩", "}"})


def _tokens(tactic: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(tactic):
        kind = m.lastgroup or "other"
        out.append((kind, m.group(0)))
    return out


def looks_local(name: str) -> bool:
    """Whether a (dot-free) identifier looks like a hypothesis or variable name rather than a library name."""
    return name not in _NOT_LOCAL and bool(_LOCAL.match(name))


def bound_names(tactic: str) -> set[str]:
    """Names the tactic introduces itself (intro patterns, ``fun``/``∀`` binders, ``have h``, ``with a b``)."""
    toks = _tokens(tactic)
    bound: set[str] = set()
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        if text in _NAMED:
            j = i + 1
            if j < len(toks) and toks[j][0] == "ident":
                bound.add(toks[j][1])
        elif text in _PATTERN_BINDERS:
            bound |= _binders_from(toks, i + 1, _STOP_PATTERN)
        elif text in _TERM_BINDERS:
            bound |= _binders_from(toks, i + 1, _STOP_TERM)
        i += 1
    return bound


def _binders_from(toks: list[tuple[str, str]], j: int, stops: frozenset[str]) -> set[str]:
    """Identifiers from ``toks[j]`` up to a top-level stop token; a ``:`` in brackets starts a skipped type."""
    out: set[str] = set()
    depth = 0
    while j < len(toks):
        kind, t = toks[j]
        if t in _OPEN:
            depth += 1
        elif t in _CLOSE:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and t in stops:
            break
        elif depth > 0 and t == ":":  # a binder's type, `(x : ℝ)`: skip to the closing bracket
            while j + 1 < len(toks) and toks[j + 1][1] not in _CLOSE:
                j += 1
        elif kind == "ident":
            out.add(t)
        j += 1
    return out


def referenced_locals(tactic: str) -> list[str]:
    """Local-looking names the tactic takes from the state (first components, in order, without repeats)."""
    toks = _tokens(tactic)
    bound = bound_names(tactic)
    seen: list[str] = []
    for i, (kind, text) in enumerate(toks):
        if kind != "ident":
            continue
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if nxt == ":=":  # a field or named argument (`decide := true`, `(m := 3)`), or a `have h :=` name
            continue
        head = text.split(".", 1)[0]
        if head in bound or not looks_local(head) or head in seen:
            continue
        seen.append(head)
    return seen


def unknown_locals(tactic: str, known: Collection[str]) -> list[str]:
    """Referenced local-looking names that the state does not have."""
    return [n for n in referenced_locals(tactic) if n not in known]


_MULTI_GOAL = ("all_goals", "any_goals", "case ", "next ", "on_goal", "pick_goal", "<;>")


def state_names(goal_names: Iterable[Iterable[str]], tactic: str = "") -> set[str]:
    """Accessible names a tactic may use: the first goal's, or every goal's for multi-goal combinators."""
    goals = [list(g) for g in goal_names]
    if not goals:
        return set()
    chosen = goals if any(m in tactic for m in _MULTI_GOAL) else goals[:1]
    return {n for g in chosen for n in g if "✝" not in n}


def repair(tactic: str, known: Collection[str]) -> str | None:
    """Drop unknown local names from hint lists and ``at`` locations; ``None`` when that cannot fix it.

    ``norm_num [h₀, foo, h₉] at h₉ ⊢`` with only ``h₀`` known becomes ``norm_num [h₀, foo] at ⊢``; an unknown
    name anywhere else (``exact h₉``) cannot be repaired. A list emptied by the repair is removed with its
    brackets (``simp [h₉]`` -> ``simp``), except for ``rw``/``rwa``/``nth_rewrite`` which need one.
    """
    missing = set(unknown_locals(tactic, known))
    if not missing:
        return tactic
    out = tactic

    def fix_list(m: re.Match[str]) -> str:
        items = [x.strip() for x in _split_top(m.group(2))]
        kept = [x for x in items if x.removeprefix("← ").removeprefix("←").split(".", 1)[0] not in missing]
        if not kept:
            return m.group(1).rstrip() if not m.group(1).strip().startswith(("rw", "rwa", "nth_rw")) else "\0"
        return f"{m.group(1)}[{', '.join(kept)}]"

    out = re.sub(
        r"((?:^|(?<=[;>\s]))[\w!?'.]+(?:\s*\([^()]*\))?\s*(?:only\s*)?)\[([^\[\]]*)\]", fix_list, out
    )
    if "\0" in out:
        return None

    words: list[str] = []
    in_at = False
    for word in out.split():  # `at h₉ h₀ ⊢`: drop the unknown names; an empty location list drops `at`
        if word == "at":
            in_at = True
        elif in_at and word.split(".", 1)[0] in missing:
            continue
        elif in_at and not (word == "⊢" or word == "*" or looks_local(word)):
            in_at = False
        words.append(word)
    cleaned: list[str] = []
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word == "at" and (not nxt or nxt in {";", "<;>"} or nxt.startswith(("(", "[", "<;>"))):
            continue
        cleaned.append(word)
    out = " ".join(cleaned)
    if unknown_locals(out, known) or not out:
        return None
    return out


def _split_top(text: str) -> list[str]:
    """Split a hint list at top-level commas."""
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p for p in parts if p.strip()]
