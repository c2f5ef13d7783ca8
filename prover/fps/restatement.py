"""Answers that only restate the question: a separate report column, never counted as solved silently.

The reference judges answers with RPE alone, and its released outputs show solvers that "close every goal"
with an answer that repeats the problem: a term built from the problem's variables, a set-builder or ``fun``
whose body is the condition itself, a choice (``Classical.choose``, ``Nat.find``, ``sSup {x | …}``) of what
was asked, or an unevaluated expression that ``norm_num`` still simplifies. The static part here reads the
submission's tokens with the project's Lean lexer; the normal-form part asks Lean (a probe command of ours,
see :func:`normal_form_commands`), since only Lean knows what ``norm_num`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prover.fps.problem import ANSWER, FpsProblem, binders
from prover.lean.lexer import LexError, Token, code_tokens, name_parts

#: Words that introduce bound variables in a term.
BINDER_WORDS = frozenset({"fun", "λ", "∀", "∃", "∃!", "∑", "∏", "⋃", "⋂", "Σ", "Π", "∃ᵉ", "∀ᶠ", "∃ᶠ"})
#: Choice of "the thing that satisfies the condition": an answer built this way restates the problem.
CHOICE_WORDS = frozenset(
    {"choose", "epsilon", "find", "some", "choice", "arbitrary", "indefiniteDescription", "Exists.choose"}
)
CHOICE_HEADS = frozenset({"Classical", "Exists", "Nat", "Classical.choose", "Nat.find", "Classical.epsilon"})
#: Extremum / cardinality operators that restate when applied to a set built from a condition.
EXTREMUM_WORDS = frozenset(
    {"sInf", "sSup", "iInf", "iSup", "ncard", "card", "encard", "Inf", "Sup", "argmin"}
)
#: Symbols that make a body a proposition (a condition rather than a value).
PROP_SYMBOLS = frozenset({"=", "≠", "<", ">", "≤", "≥", "∣", "∧", "∨", "¬", "∈", "∉", "↔", "→", "⊆", "⊂"})
#: Tokens too common to count as shared with the problem.
_COMMON = frozenset(
    {
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "|",
        "=",
        "+",
        "-",
        "*",
        "/",
        "^",
        "ℕ",
        "ℝ",
        "ℤ",
        "ℚ",
        "ℂ",
        "0",
        "1",
        "2",
        ".",
        "=>",
        "↦",
        "fun",
        "λ",
        ANSWER,
    }
)


@dataclass
class Restatement:
    """Why a submission looks like a restatement (empty ``reasons``: it does not)."""

    reasons: list[str] = field(default_factory=list)
    #: intros the answer mentions (allowed by the rules, but the answer then depends on the question)
    intros: list[str] = field(default_factory=list)
    #: ``True``/``False`` when Lean was asked whether ``norm_num`` changes it, ``None`` when not asked
    normal_form: bool | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def to_json(self) -> dict[str, object]:
        return {
            "flagged": self.flagged,
            "reasons": list(self.reasons),
            "intros": list(self.intros),
            "normal_form": self.normal_form,
        }


def _tokens(text: str) -> list[Token] | None:
    try:
        return code_tokens(text)
    except LexError:
        return None


def _bound_names(toks: list[Token]) -> set[str]:
    """Names bound inside the submission: after a binder word up to ``,``/``=>``/``↦``, and ``{x | …}``."""
    bound: set[str] = set()
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.text in BINDER_WORDS:
            j = i + 1
            depth = 0
            while j < len(toks) and not (depth == 0 and toks[j].text in (",", "=>", "↦")):
                if toks[j].text in "([{⦃⟨":
                    depth += 1
                elif toks[j].text in ")]}⦄⟩":
                    depth -= 1
                    if depth < 0:
                        break
                elif toks[j].kind == "ident" and (depth == 0 or toks[j - 1].text in "([{⦃⟨ "):
                    bound.add(toks[j].text)
                elif toks[j].text == ":" and depth == 0:
                    # `fun x : T => …`: the type is not bound
                    while j + 1 < len(toks) and toks[j + 1].text not in (",", "=>", "↦"):
                        j += 1
                j += 1
            i = j
            continue
        if tok.text in ("let", "match", "obtain", "rcases"):
            j = i + 1
            while j < len(toks) and toks[j].text not in (":=", "with", "=>"):
                if toks[j].kind == "ident":
                    bound.add(toks[j].text)
                j += 1
            i = j
            continue
        if (
            tok.text == "{"
            and i + 2 < len(toks)
            and toks[i + 1].kind == "ident"
            and toks[i + 2].text in ("|", ":")
        ):
            bound.add(toks[i + 1].text)
        i += 1
    return bound


def _idents(toks: Iterable[Token]) -> list[str]:
    return [t.text for t in toks if t.kind == "ident"]


def _set_builders(toks: list[Token]) -> list[tuple[int, int]]:
    """(start, end) token ranges of ``{x | …}`` / ``{x : T | …}`` / ``{(a, b) | …}`` bodies."""
    out = []
    for i, tok in enumerate(toks):
        if tok.text != "{":
            continue
        depth, j, bar = 0, i + 1, None
        while j < len(toks):
            t = toks[j].text
            if t in "([{⦃⟨":
                depth += 1
            elif t in ")]}⦄⟩":
                if depth == 0:
                    break
                depth -= 1
            elif t == "|" and depth == 0 and bar is None:
                bar = j
            j += 1
        if bar is not None:
            out.append((bar + 1, j))
    return out


def _binder_bodies(toks: list[Token]) -> list[tuple[int, int]]:
    """Token ranges of the bodies of ``fun``/``∀``/``∃``… (from after ``,``/``=>`` to the enclosing close)."""
    out = []
    for i, tok in enumerate(toks):
        if tok.text not in BINDER_WORDS:
            continue
        j, depth = i + 1, 0
        while j < len(toks) and not (depth == 0 and toks[j].text in (",", "=>", "↦")):
            depth += toks[j].text in "([{⦃⟨"
            depth -= toks[j].text in ")]}⦄⟩"
            j += 1
        start, depth = j + 1, 0
        k = start
        while k < len(toks):
            if toks[k].text in "([{⦃⟨":
                depth += 1
            elif toks[k].text in ")]}⦄⟩":
                if depth == 0:
                    break
                depth -= 1
            k += 1
        out.append((start, k))
    return out


def _problem_words(problem: FpsProblem) -> set[str]:
    words: set[str] = set()
    for var in problem.outros:
        toks = _tokens(var.t) or []
        words.update(
            t.text for t in toks if t.text not in _COMMON and t.kind in ("ident", "symbol", "number")
        )
        if var.name:
            words.add(var.name)
    return words


def detect(
    problem: FpsProblem, submission: str, intros_mentioned: Iterable[str] | None = None, mode: str = "fps"
) -> Restatement:
    """The static checks. ``intros_mentioned`` (from the extraction, when there was one) is authoritative;
    otherwise intros are found by name among the submission's free identifiers."""
    out = Restatement()
    toks = _tokens(submission)
    if toks is None:
        out.reasons.append("the submission does not lex as Lean")
        return out
    bound = _bound_names(toks)
    # dot notation on a bound variable (`fun x => x.succ`, one identifier token) is still bound
    free = [w for w in _idents(toks) if w not in bound and name_parts(w)[0] not in bound]
    heads = {name_parts(w)[0] for w in free}
    if intros_mentioned is not None:
        out.intros = sorted(set(intros_mentioned) - ({ANSWER} if mode == "dfps" else set()))
    else:
        out.intros = sorted(n for n in problem.intro_names() if n in heads)
    # an answer in terms of the problem's variables is what the problem asks when the ground truth is one
    # too (``answer = x + 1``): only variables the ground truth does not mention make a restatement
    expected = ground_truth_names(problem)
    unexpected = [n for n in out.intros if n not in expected]
    if unexpected:
        out.reasons.append(f"mentions the problem's variables: {', '.join(unexpected)}")
    hyps = sorted(str(v.name) for v in problem.outros if not v.anonymous and v.name in heads)
    if hyps:
        out.reasons.append(f"mentions the problem's hypotheses or conclusion: {', '.join(hyps)}")
    if ANSWER in heads and mode != "dfps":  # a D-FPS submission is a proposition about `answer`
        out.reasons.append("mentions `answer` itself")
    said = [v for v in problem.outros if _same_code(v.t, submission)]
    if said:
        what = "the conclusion" if said[-1] is problem.goal else f"hypothesis {said[-1].name or said[-1].t}"
        out.reasons.append(f"is {what} itself")
    words = {w for t in free for w in (t, *name_parts(t))}
    if words & {"Classical.choose", "Exists.choose", "Classical.epsilon", "Nat.find", "Classical.choice"} or (
        {"choose", "epsilon", "indefiniteDescription"} & {name_parts(w)[-1] for w in free}
    ):
        out.reasons.append("chooses a value satisfying a condition (choice) instead of giving it")
    problem_words = _problem_words(problem)
    for kind, ranges in (("set-builder", _set_builders(toks)), ("binder", _binder_bodies(toks))):
        for start, end in ranges:
            body = toks[start:end]
            is_condition = any(t.text in PROP_SYMBOLS for t in body)
            shared = {t.text for t in body if t.text not in _COMMON and t.text not in bound} & problem_words
            extremum = any(
                name_parts(t.text)[-1] in EXTREMUM_WORDS for t in toks[:start] if t.kind == "ident"
            )
            if is_condition and (len(shared) >= 2 or extremum):
                what = "set-builder" if kind == "set-builder" else "a binder"
                out.reasons.append(
                    f"{what} whose body restates the condition (shares {', '.join(sorted(shared)) or 'an extremum'})"
                )
                break
    return out


def ground_truth_names(problem: FpsProblem) -> set[str]:
    """The heads of the identifiers the ground truth ``formal_answer`` mentions (for intro-valued answers)."""
    toks = _tokens(problem.formal_answer) or []
    return {name_parts(t.text)[0] for t in toks if t.kind == "ident"}


def is_truth_value(submission: str) -> bool:
    """``True`` / ``False`` (in parentheses or not): a Prop answer already in normal form."""
    toks = _tokens(submission)
    if toks is None:
        return False
    inner = [t.text for t in toks if t.text not in ("(", ")")]
    return inner in (["True"], ["False"])


def _same_code(a: str, b: str) -> bool:
    ta, tb = _tokens(a), _tokens(b)
    strip = ("(", ")")
    if ta is None or tb is None:
        return False
    return [t.text for t in ta if t.text not in strip] == [t.text for t in tb if t.text not in strip]


def normal_form_commands(problem: FpsProblem, submission: str, prop_form: bool = False) -> tuple[str, str]:
    """Two probe commands: (does the submission elaborate with the answer's type?, does ``norm_num`` still
    change it?). ``norm_num at h`` fails when it makes no progress, so: elaborates, and the second command
    has an error ⇔ the submission is in ``norm_num`` normal form. ``prop_form``: the D-FPS form (the
    submission is a proposition); FPS answers, ``Prop`` ones included, sit in ``answer = (<sub> : T)``."""
    intros = binders(problem.intros)
    head = (
        f"example {intros} ({ANSWER} : {problem.formal_answer_type})"
        if intros
        else (f"example ({ANSWER} : {problem.formal_answer_type})")
    )
    hyp = (
        f"(h : (\n{submission.strip()}\n))"
        if prop_form
        else (f"(h : {ANSWER} = (\n{submission.strip()}\n : {problem.formal_answer_type}))")
    )
    return (
        f"{head} {hyp} : True := by\n  trivial",
        f"{head} {hyp} : True := by\n  norm_num at h\n  all_goals trivial",
    )
