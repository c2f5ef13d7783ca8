"""A theorem statement rebuilt from a pretty-printed goal (``h : T`` lines, then ``⊢ target``), or why not.

Alchemy-style synthesis turns the goals Lean prints after a ``rw``/``apply`` probe into new theorems. Lean's
pretty-printer is not a round trip: inaccessible names (``x✝``, ``inst✝¹``) cannot be written back, ``⋯`` hides
elided terms, ``?w`` is an unassigned metavariable, ``w : ℝ := v`` is a ``let`` in the context that no binder can
state, long goals are sometimes cut off, and ``↑(3 / 20)`` hides the literal's source type (read back, it would be
ℕ). Inaccessible names are renamed to fresh, non-clashing identifiers (``inst✝`` becomes an anonymous instance
binder ``[T]``) and ``↑x`` is kept (``x``'s binder fixes its type); the rest is rejected with the reason and its
class (``GoalStatement.kind``, one of :data:`REJECTIONS`). Works on the
lexer's tokens, never on raw-text regexes, so a ``✝`` or ``:=`` inside a term is read as Lean reads it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from prover.lean.lexer import LexError, bracket_delta, code_tokens
from prover.lean.statement import split_statement
from prover.lean.types import split_goals

_SUPERSCRIPTS = set("⁰¹²³⁴⁵⁶⁷⁸⁹")
_UNIVERSE = re.compile(r"(?<![\w.])(?:Sort|Type)\s+(u(?:_\d+)?|v(?:_\d+)?|w(?:_\d+)?)(?![\w])")


@dataclass(frozen=True)
class GoalStatement:
    """``statement`` (``theorem NAME binders : type``, no ``:=``) when ``ok``, else ``reason`` says why not.

    ``renamed`` maps each inaccessible name as printed (``x✝¹``) to the identifier it became.
    """

    statement: str | None
    reason: str | None = None
    renamed: tuple[tuple[str, str], ...] = ()
    #: the reason's class, for counting (one of :data:`REJECTIONS`); "" when ``ok``
    kind: str = ""

    @property
    def ok(self) -> bool:
        return self.statement is not None


#: why a goal cannot become a statement, as counted in run summaries
REJECTIONS = (
    "not one goal",
    "metavariable",
    "elided term",
    "let-bound hypothesis",
    "cut off",
    "coercion of a literal",
    "unreadable",
)


def _kind(reason: str) -> str:
    for kind, marker in (
        ("metavariable", "metavariable"),
        ("elided term", "⋯"),
        ("let-bound hypothesis", "let-bound"),
        ("cut off", "unclosed bracket"),
        ("coercion of a literal", "coercion"),
        ("not one goal", "one goal"),
        ("not one goal", "empty target"),
    ):
        if marker in reason:
            return kind
    return "unreadable"


def _rejected(reason: str) -> GoalStatement:
    return GoalStatement(None, reason, kind=_kind(reason))


@dataclass(frozen=True)
class _Hyp:
    names: list[str]
    type: str


def _entries(goal: str) -> tuple[list[str], str | None]:
    """Hypothesis entries and the target, each with its continuation lines joined by single spaces."""
    lines = goal.strip("\n").split("\n")
    if lines and lines[0].startswith("case "):
        lines = lines[1:]
    entries: list[str] = []
    target: str | None = None
    for line in lines:
        if not line.strip():
            continue
        if line[0] in " \t":
            if target is not None:
                target += " " + line.strip()
            elif entries:
                entries[-1] += " " + line.strip()
            else:
                return [], None
        elif line.startswith("⊢"):
            if target is not None:
                return [], None  # two goals in one text
            target = line[1:].strip()
        elif target is None:
            entries.append(line.strip())
        else:
            return [], None
    return entries, target


def _split_hyp(entry: str) -> _Hyp | str:
    """``a b : T`` as names and type; a reason for ``w : T := v`` (a let) or a line without ``:``."""
    try:
        toks = code_tokens(entry)
    except LexError as exc:
        return f"cannot read the hypothesis {entry[:40]!r}: {exc}"
    colon = next((i for i, t in enumerate(toks) if t.text == ":"), None)
    if colon is None or colon == 0:
        return f"not a hypothesis line: {entry[:60]!r}"
    depth = 0
    for t in toks[colon + 1 :]:
        depth += bracket_delta(t)
        if t.text == ":=" and depth == 0:
            return f"let-bound hypothesis {entry[: t.start].strip()[:40]} := … cannot be a binder"
    names = [n for n in entry[: toks[colon].start].split()]
    return _Hyp(names, entry[toks[colon].end :].strip())


def _identifiers(text: str) -> set[str]:
    try:
        return {t.text for t in code_tokens(text) if t.kind == "ident"}
    except LexError:
        return set()


def _inaccessible_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, printed)`` of each ``name✝ⁿ`` in ``text`` (identifier glued to ``✝`` and superscripts)."""
    toks = code_tokens(text)
    spans = []
    for i, t in enumerate(toks):
        if t.text != "✝":
            continue
        start = (
            toks[i - 1].start if i and toks[i - 1].end == t.start and toks[i - 1].kind == "ident" else t.start
        )
        end = t.end
        j = i + 1
        while j < len(toks) and toks[j].start == end and all(c in _SUPERSCRIPTS for c in toks[j].text):
            end = toks[j].end
            j += 1
        spans.append((start, end, text[start:end]))
    return spans


def statement_problems(statement: str) -> list[str]:
    """Why ``statement`` is not a well-formed statement for the project's lexer and splitter (empty: it is)."""
    try:
        toks = code_tokens(statement)
    except LexError as exc:
        return [f"the lexer refuses it: {exc}"]
    problems = []
    depth = 0
    for t in toks:
        depth += bracket_delta(t)
        if depth < 0:
            problems.append(f"unbalanced bracket {t.text!r}")
            break
        if t.text in ("✝", "⋯", "sorry"):
            problems.append(f"contains {t.text!r}")
    if depth > 0:
        problems.append("unclosed bracket (the goal may have been cut off)")
    problems += _literal_coercions(toks)
    for a, b in zip(toks, toks[1:], strict=False):
        if a.text == "?" and b.kind == "ident" and a.end == b.start:
            problems.append(f"metavariable ?{b.text}")
    problems = list(dict.fromkeys(problems))
    if not problems:
        try:
            parts = split_statement(statement)
        except ValueError as exc:
            return [f"not a statement: {exc}"]
        if not parts.type.strip():
            problems.append("empty conclusion")
    return problems


def _literal_coercions(toks: Sequence) -> list[str]:
    """``↑`` applied to a term without a name (``↑(3 / 20)``, ``↑2``): the printed goal lost the literal's
    type (ℕ? ℚ?), and Lean would read it back as ℕ, silently changing the statement. ``↑x`` is safe (``x``'s
    binder gives its type) and so is ``(↑e : T)`` (``pp.coercions.types``) when ``e`` names a type."""
    out = []
    for i, t in enumerate(toks):
        if t.text != "↑" or i + 1 >= len(toks):
            continue
        nxt = toks[i + 1]
        if nxt.text != "(":  # `↑x`, `↑⌊x⌋`, `↑(f x)` name something; `↑2` does not
            if nxt.kind == "number":
                out.append(f"coercion of a literal ↑{nxt.text}: its source type is not printed")
            continue
        depth, j, named = 0, i + 1, False
        while j < len(toks):
            depth += bracket_delta(toks[j])
            named = named or toks[j].kind == "ident"
            if depth == 0:
                break
            j += 1
        if not named:
            out.append("coercion of a literal ↑(…): its source type is not printed")
    return out


def statement_from_goal(goal: str, name: str = "synth_goal") -> GoalStatement:
    """Rebuild ``theorem name <binders> : <target>`` from one pretty-printed goal; see the module doc."""
    entries, target = _entries(goal)
    if target is None:
        return _rejected("not one goal: expected hypothesis lines and one '⊢' line")
    if not target:
        return _rejected("empty target after '⊢'")
    if "⋯" in goal:
        return _rejected("an elided term (⋯) cannot be written back")
    hyps: list[_Hyp] = []
    for entry in entries:
        hyp = _split_hyp(entry)
        if isinstance(hyp, str):
            return _rejected(hyp)
        hyps.append(hyp)
    try:
        taken = _identifiers(goal) | {n for h in hyps for n in h.names}
        whole = "\n".join([*entries, target])
        printed = list(dict.fromkeys(p for _, _, p in _inaccessible_spans(whole)))
    except LexError as exc:
        return _rejected(f"the lexer refuses the goal: {exc}")
    renames: dict[str, str] = {}
    for p in printed:
        base = p.split("✝")[0] or "x"
        k = 1
        while f"{base}_{k}" in taken:
            k += 1
        renames[p] = f"{base}_{k}"
        taken.add(renames[p])

    def rename(text: str) -> str:
        out, last = [], 0
        for start, end, p in _inaccessible_spans(text):
            out.append(text[last:start] + renames[p])
            last = end
        return "".join(out) + text[last:]

    binders: list[str] = []
    for hyp in hyps:
        typ = rename(hyp.type)
        if all(n.startswith("inst✝") for n in hyp.names):
            binders.extend(f"[{typ}]" for _ in hyp.names)
            continue
        names = " ".join(renames.get(n, n) for n in hyp.names)
        binders.append(f"({names} : {typ})")
    concl = rename(target)
    universes = sorted(set(_UNIVERSE.findall(whole)))
    head = f"theorem {name}" + (f".{{{', '.join(universes)}}}" if universes else "")
    statement = " ".join([head, *binders, ":", concl])
    problems = statement_problems(statement)
    if problems:
        return _rejected("; ".join(problems))
    return GoalStatement(statement, None, tuple(renames.items()))


def goal_parts(goal: str) -> tuple[list[tuple[list[str], str]], str] | None:
    """``([(names, type), ...], target)`` of one pretty-printed goal, or None when it is not one goal.

    Hypotheses keep their printed names (``x✝`` included) and let-bound ones keep ``T := v`` as their type.
    """
    entries, target = _entries(goal)
    if target is None:
        return None
    out = []
    for entry in entries:
        hyp = _split_hyp(entry)
        if isinstance(hyp, str):
            head, _, rest = entry.partition(" : ")
            out.append((head.split(), rest.strip()))
        else:
            out.append((hyp.names, hyp.type))
    return out, target


_UNSOLVED = re.compile(r"^(?:\d+:\d+:\s*)?(?:error:\s*)?unsolved goals\n", re.DOTALL)


def unsolved_goals(messages: Sequence[str]) -> list[str] | None:
    """The goals of Lean's ``unsolved goals`` errors (``case`` lines dropped), or None when any message is
    another error (then the tactic failed for another reason) or none names unsolved goals."""
    goals: list[str] = []
    for message in messages:
        m = _UNSOLVED.match(message)
        if m is None:
            return None
        for goal in split_goals(message[m.end() :]):
            lines = goal.split("\n")
            goals.append("\n".join(lines[1:] if lines[0].startswith("case ") else lines))
    return goals or None
