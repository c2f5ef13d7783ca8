"""Theorem statements as Lean reads them: head, universes, binders, type, and where the proof starts.

Verification re-states the theorem to the kernel (``example : ∀ <binders>, <type> := @NAME``) and asks for
``#print axioms NAME``, so it must know the statement's parts exactly. Real benchmark statements have
doc comments, attributes and modifiers before the keyword, universe parameters (``theorem foo.{u}``), and
``:=`` that do not start the proof: ``let x := …``/``have h : p := …`` in the type, binder defaults
``(x : ℕ := 3)``, structure instances ``{ x := 1 }``. The proof's ``:=`` is the first one outside brackets
that no ``let``/``have`` at that level is still waiting for. Works on the lexer's tokens, never on raw text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prover.lean.lexer import Token, bracket_delta, code_tokens

#: Keywords that declare a constant with a statement (``lemma`` is Mathlib's ``theorem``).
DECL_KEYWORDS = ("theorem", "lemma", "example", "def", "abbrev", "instance")
#: Words that may precede the keyword.
MODIFIERS = ("private", "protected", "noncomputable", "nonrec", "partial", "unsafe", "scoped", "local")
#: Term binders whose own ``:=`` may come before the proof's.
LOCAL_DEFS = frozenset({"let", "have", "letI", "haveI", "let_fun"})


@dataclass(frozen=True)
class DeclParts:
    """A declaration split into texts (comments at the edges dropped).

    ``prefix``: doc comment, attributes and modifiers before ``kind``, verbatim. ``name``: as written
    (``""`` for ``example`` and anonymous instances). ``universes``: explicit ``.{u, v}`` names.
    ``proof``: the text after the proof's ``:=``, or None when there is none (a bare statement).
    """

    kind: str
    name: str
    binders: str
    type: str
    universes: tuple[str, ...] = ()
    prefix: str = ""
    proof: str | None = None
    #: Column of the type's first character in its line: Lean's layout rules (``let`` bodies, application
    #: arguments) compare columns, so a re-stated type keeps its lines where they were.
    type_column: int = 0


def proof_assign_index(toks: list[Token], start: int = 0) -> int | None:
    """Index (in ``toks``, code tokens) of the ``:=`` that starts the proof, searching from ``start``.

    The first ``:=`` at bracket depth 0 that no pending ``let``/``have``/``letI``/``haveI``/``let_fun``
    at depth 0 claims; ``:=`` inside brackets (binder defaults, structure instances, named arguments)
    never count. None when there is no proof ``:=``.
    """
    depth = 0
    pending = 0
    for k in range(start, len(toks)):
        tok = toks[k]
        delta = bracket_delta(tok)
        if delta:
            depth = max(0, depth + delta)
        elif depth == 0 and tok.kind == "ident" and tok.text in LOCAL_DEFS:
            pending += 1
        elif depth == 0 and tok.text == ":=":
            if pending:
                pending -= 1
                continue
            return k
    return None


def skip_head(toks: Sequence[Token], k: int = 0) -> int:
    """Index of the declaration keyword after the head at ``k``: doc comments (in token lists that keep
    comments), ``@[…]`` attributes and modifiers. The one reading of a declaration's head in the Lean layer."""
    while k < len(toks):
        tok = toks[k]
        if tok.kind == "comment" and tok.text.startswith("/--"):
            k += 1
        elif tok.text == "@[":
            depth, k = 1, k + 1
            while k < len(toks) and depth:
                depth += bracket_delta(toks[k])
                k += 1
        elif tok.kind == "ident" and tok.text in MODIFIERS:
            k += 1
        else:
            return k
    return k


def split_declaration(text: str) -> DeclParts:
    """Split a declaration (with or without its proof) into its parts; ``ValueError`` when it is not one.

    Raises for: no declaration keyword after the prefix, a missing name (except ``example`` and
    anonymous ``instance``), malformed universes, no ``:`` type before the proof, an empty type.
    """
    toks = code_tokens(text)
    k = skip_head(toks)
    if k >= len(toks) or toks[k].kind != "ident" or toks[k].text not in DECL_KEYWORDS:
        raise ValueError(f"not a declaration: {text.strip()[:60]!r}")
    prefix = text[: toks[k].start].strip() if k else _leading_doc(text, toks[k].start)
    kind = toks[k].text
    k += 1
    if kind == "instance" and k < len(toks) and toks[k].text == "(":  # instance (priority := n)
        depth, k = 1, k + 1
        while k < len(toks) and depth:
            depth += bracket_delta(toks[k])
            k += 1
    name = ""
    universes: tuple[str, ...] = ()
    is_name = k < len(toks) and toks[k].kind == "ident" and toks[k].text not in LOCAL_DEFS
    if kind not in ("example", "instance") or (kind == "instance" and is_name and toks[k].text != ":"):
        if not is_name:
            raise ValueError(f"declaration without a name: {text.strip()[:60]!r}")
        name = toks[k].text
        k += 1
        universes, k = _universes(toks, k, name, text)
        name = name.removesuffix(".")
    assign = proof_assign_index(toks, k)
    end = assign if assign is not None else len(toks)
    binders_start = toks[k].start if k < end else (toks[end].start if end < len(toks) else len(text))
    depth = 0
    colon = None
    for i in range(k, end):
        tok = toks[i]
        delta = bracket_delta(tok)
        if delta:
            depth = max(0, depth + delta)
        elif tok.text == ":" and depth == 0:
            colon = i
            break
    if colon is None:
        raise ValueError(f"declaration without a type (no top-level ':'): {text.strip()[:60]!r}")
    type_end = toks[assign].start if assign is not None else len(text)
    type_text = text[toks[colon].end : type_end].strip()
    type_start = toks[colon + 1].start if colon + 1 < len(toks) else type_end
    type_column = type_start - (text.rfind("\n", 0, type_start) + 1)
    if not type_text or colon + 1 >= end:
        raise ValueError(f"declaration with an empty type: {text.strip()[:60]!r}")
    proof = text[toks[assign].end :] if assign is not None else None
    binders = text[binders_start : toks[colon].start].strip()
    return DeclParts(kind, name, binders, type_text, universes, prefix, proof, type_column)


def _leading_doc(text: str, keyword_start: int) -> str:
    """A doc comment (``/-- … -/``) right before the keyword is part of the declaration's prefix."""
    before = text[:keyword_start].strip()
    return before if before.startswith("/--") else ""


def _universes(toks: list[Token], k: int, name: str, text: str) -> tuple[tuple[str, ...], int]:
    """Parse ``.{u, v}`` after the name (lexed as ``.{``, ``.`` ``{`` or a name ending ``.`` then ``{``)."""
    j = k
    at = toks[j].text if j < len(toks) else ""
    if (name.endswith(".") and at == "{") or at == ".{":
        j += 1
    elif j + 1 < len(toks) and toks[j].text == "." and toks[j + 1].text == "{":
        j += 2
    else:
        if name.endswith("."):
            raise ValueError(f"malformed declaration name {name!r}: {text.strip()[:60]!r}")
        return (), k
    names: list[str] = []
    while j < len(toks) and toks[j].text != "}":
        if toks[j].kind == "ident":
            names.append(toks[j].text)
        elif toks[j].text != ",":
            raise ValueError(f"malformed universe list after {name!r}: {text.strip()[:60]!r}")
        j += 1
    if j >= len(toks) or not names:
        raise ValueError(f"malformed universe list after {name!r}: {text.strip()[:60]!r}")
    return tuple(names), j + 1


def split_statement(statement: str) -> DeclParts:
    """Split a statement (a declaration without its proof); ``ValueError`` when it has a proof ``:=``."""
    parts = split_declaration(statement)
    if parts.proof is not None:
        raise ValueError(f"the statement has a proof after ':=': {statement.strip()[:60]!r}")
    return parts


def statement_as_type(statement: str | DeclParts) -> str:
    """The closed type a statement declares: ``∀ binders, type`` (just ``type`` without binders)."""
    parts = split_statement(statement) if isinstance(statement, str) else statement
    if not parts.binders:
        return parts.type
    return f"∀ {parts.binders}, {parts.type}"
