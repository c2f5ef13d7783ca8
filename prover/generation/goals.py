"""Light reading of Lean's pretty-printed goals: hypotheses (names and types) and the target.

Generators need this to adapt a neighbour's tactic to the local names and to pick automation by the
target's shape. It reads one goal of a request's goal list (``GenerationRequest.goals``), text the seam
already carries; nothing here talks to Lean. ``parse_state`` (joined text -> goals) is only for corpora and
tests that hold joined text; generators never re-split a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_CASE = re.compile(r"^case\s+\S+")
#: A Lean identifier as it appears in goals and tactics (unicode letters, subscripts, primes, dots inside).
IDENT = r"[^\W\d][\w'!?]*"
_HYP = re.compile(rf"^((?:{IDENT}✝?\s+)*{IDENT}✝?)\s+:\s?(.*)$")


@dataclass(frozen=True)
class Hypothesis:
    name: str
    type: str

    @property
    def is_variable(self) -> bool:
        """A term variable (``x : ℝ``) rather than an assumption (``h : 0 < x``): its type is a sort/type name."""
        return _looks_like_type(self.type)


@dataclass(frozen=True)
class Goal:
    hypotheses: tuple[Hypothesis, ...] = ()
    target: str = ""
    case: str = ""

    def names(self) -> list[str]:
        return [h.name for h in self.hypotheses]


@dataclass
class _Builder:
    hyps: list[list[str]] = field(default_factory=list)  # [names..., type]


_TYPE_WORDS = (
    "ℕ",
    "ℤ",
    "ℚ",
    "ℝ",
    "ℂ",
    "Prop",
    "Type",
    "Sort",
    "Bool",
    "Nat",
    "Int",
    "Real",
    "Rat",
    "Complex",
    "Finset",
    "Set",
    "List",
    "Fin",
    "Polynomial",
    "ZMod",
    "Matrix",
)


@lru_cache(maxsize=16384)
def _looks_like_type(text: str) -> bool:
    t = text.strip()
    if any(op in t for op in ("=", "<", ">", "≤", "≥", "≠", "∣", "∧", "∨", "¬", "↔", "∈", "∉", "⊆")):
        return False
    head = t.split()[0] if t.split() else ""
    return (
        head.rstrip("()") in _TYPE_WORDS
        or "→" in t
        and all(w in _TYPE_WORDS for w in re.findall(r"[^\s→()]+", t))
    )


def looks_like_type(text: str) -> bool:
    """Whether a target is a type rather than a proposition (``⊢ ℕ``: the goal of an answer witness)."""
    return bool(text.strip()) and _looks_like_type(text)


def parse_goal(text: str) -> Goal:
    """Split one goal into hypotheses and target; unknown shapes degrade to 'target only'."""
    lines = text.splitlines()
    case = ""
    if lines and _CASE.match(lines[0]):
        case = lines[0].split(None, 1)[1]
        lines = lines[1:]
    hyps: list[tuple[list[str], str]] = []
    target_lines: list[str] = []
    in_target = False
    for line in lines:
        if in_target:
            target_lines.append(line.strip())
            continue
        if line.startswith("⊢"):
            in_target = True
            target_lines.append(line[1:].strip())
            continue
        m = _HYP.match(line)
        if m and not line.startswith(" "):
            hyps.append((m.group(1).split(), m.group(2)))
        elif hyps:  # continuation of a long hypothesis type
            names, typ = hyps[-1]
            hyps[-1] = (names, f"{typ} {line.strip()}")
    flat = tuple(Hypothesis(name, typ.strip()) for names, typ in hyps for name in names)
    return Goal(flat, " ".join(t for t in target_lines if t), case)


def parse_state(state: str) -> list[Goal]:
    """Goals of a ``TacticState.pp`` text (goals separated by blank lines)."""
    chunks = [c for c in re.split(r"\n\s*\n", state.strip()) if c.strip()]
    return [parse_goal(c) for c in chunks]


def rename_identifiers(tactic: str, mapping: dict[str, str]) -> str:
    """Replace whole identifiers (not parts of longer names, not after a dot) simultaneously."""
    mapping = {k: v for k, v in mapping.items() if k != v}
    if not mapping:
        return tactic
    alternatives = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w'.])({alternatives})(?![\w'!?])")
    return pattern.sub(lambda m: mapping[m.group(1)], tactic)
