"""A small Lean 4 lexer: enough of Lean's token rules to reason about proofs without running Lean.

The soundness guard must not be fooled by text that merely *looks* like a banned word (``-- no sorry here``,
``"sorry"``, ``foo_sorry_bar``, ``«sorry»``) nor miss one hidden by layout. So it works on tokens: comments
(line, nested block, doc), string and char literals, identifiers (unicode, dotted, ``«quoted»``, with Lean's
``?``/``!``/``'`` suffix characters), numbers, ``#commands`` and symbols. Also: splitting a declaration into
its parts and turning a statement into a closed type (``∀ binders, type``) for the Lean-side statement check.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

OPEN_BRACKETS = "([{⦃⟨"
CLOSE_BRACKETS = ")]}⦄⟩"
_MULTI_SYMBOLS = (":=", "=>", "<;>", "..", "@[", "%[")
_GREEK_NOT_LETTERS = {"λ", "Π", "Σ"}


class LexError(ValueError):
    """Text that Lean would not lex either (unterminated comment or string)."""


@dataclass(frozen=True)
class Token:
    kind: str  # ident | number | string | char | name | hash | symbol | comment
    text: str
    start: int
    end: int

    @property
    def is_code(self) -> bool:
        return self.kind != "comment"


def _is_letter_like(ch: str) -> bool:
    if ch in _GREEK_NOT_LETTERS:
        return False
    if ch.isalpha():
        return True
    cp = ord(ch)
    # Lean's isLetterLike: Greek, Coptic, letterlike symbols (ℕ ℝ ...), Latin-1 supplement letters
    return 0x2100 <= cp <= 0x214F or 0x1D49C <= cp <= 0x1D59F


def _is_subscript(ch: str) -> bool:
    cp = ord(ch)
    return 0x2080 <= cp <= 0x208C or 0x2090 <= cp <= 0x209C or 0x1D62 <= cp <= 0x1D6A or cp == 0x2C7C


def is_ident_start(ch: str) -> bool:
    return ch == "_" or _is_letter_like(ch)


def is_ident_rest(ch: str) -> bool:
    return (
        is_ident_start(ch)
        or ch.isdigit()
        or ch in "'!?"
        or _is_subscript(ch)
        or (unicodedata.category(ch) == "Nd")
    )


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` including comments (``kind == "comment"``); whitespace is dropped."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j == -1 else j
            tokens.append(Token("comment", text[start:i], start, i))
            continue
        if text.startswith("/-", i):
            i = _skip_block_comment(text, i)
            tokens.append(Token("comment", text[start:i], start, i))
            continue
        if ch == '"':
            i = _skip_string(text, i)
            tokens.append(Token("string", text[start:i], start, i))
            continue
        if ch == "r" and _raw_string_at(text, i):
            i = _skip_raw_string(text, i)
            tokens.append(Token("string", text[start:i], start, i))
            continue
        if ch == "'" and _char_literal_end(text, i):
            i = _char_literal_end(text, i)
            tokens.append(Token("char", text[start:i], start, i))
            continue
        if ch == "`" and i + 1 < n and text[i + 1] != "(":
            j = i + 1
            while j < n and text[j] == "`":
                j += 1
            end = _ident_end(text, j)
            if end > j:
                tokens.append(Token("name", text[start:end], start, end))
                i = end
                continue
        if ch == "#" and i + 1 < n and is_ident_start(text[i + 1]):
            end = _ident_end(text, i + 1)
            tokens.append(Token("hash", text[start:end], start, end))
            i = end
            continue
        if is_ident_start(ch) or ch == "«":
            end = _ident_end(text, i)
            tokens.append(Token("ident", text[start:end], start, end))
            i = end
            continue
        if ch.isdigit():
            j = i + 1
            while j < n and (
                text[j].isalnum()
                or text[j] == "_"
                or (text[j] == "." and j + 1 < n and text[j + 1].isdigit())
            ):
                j += 1
            tokens.append(Token("number", text[start:j], start, j))
            i = j
            continue
        sym = next((s for s in _MULTI_SYMBOLS if text.startswith(s, i)), ch)
        i += len(sym)
        tokens.append(Token("symbol", sym, start, i))
    return tokens


def code_tokens(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.is_code]


def _skip_block_comment(text: str, i: int) -> int:
    depth, j, n = 0, i, len(text)
    while j < n:
        if text.startswith("/-", j):
            depth += 1
            j += 2
        elif text.startswith("-/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    raise LexError(f"unterminated comment starting at offset {i}")


def _skip_string(text: str, i: int) -> int:
    j, n = i + 1, len(text)
    while j < n:
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"':
            return j + 1
        j += 1
    raise LexError(f"unterminated string literal starting at offset {i}")


def _raw_string_at(text: str, i: int) -> bool:
    if i > 0 and is_ident_rest(text[i - 1]):
        return False
    j = i + 1
    while j < len(text) and text[j] == "#":
        j += 1
    return j < len(text) and text[j] == '"'


def _skip_raw_string(text: str, i: int) -> int:
    j = i + 1
    hashes = 0
    while text[j] == "#":
        hashes += 1
        j += 1
    close = '"' + "#" * hashes
    end = text.find(close, j + 1)
    if end == -1:
        raise LexError(f"unterminated raw string literal starting at offset {i}")
    return end + len(close)


def _char_literal_end(text: str, i: int) -> int:
    """End of a char literal starting at ``i`` ('a', '\\n', '\\x41', '\\u{1F600}'), or 0 when it is not one."""
    n = len(text)
    if i + 2 >= n:
        return 0
    if text[i + 1] == "\\":
        close = text.find("'", i + 2)
        return close + 1 if 0 < close <= i + 12 else 0
    return i + 3 if text[i + 2] == "'" and text[i + 1] != "'" else 0


def _ident_end(text: str, i: int) -> int:
    """End of a (possibly dotted) identifier starting at ``i``; 0-length when none starts there."""
    n = len(text)
    j = i
    while True:
        if j < n and text[j] == "«":
            close = text.find("»", j + 1)
            if close == -1:
                raise LexError(f"unterminated «quoted name» starting at offset {j}")
            j = close + 1
        elif j < n and is_ident_start(text[j]):
            j += 1
            while j < n and is_ident_rest(text[j]):
                j += 1
        else:
            return j
        if j + 1 < n and text[j] == "." and (is_ident_start(text[j + 1]) or text[j + 1] == "«"):
            j += 1
            continue
        return j


def name_parts(ident: str) -> list[str]:
    """Components of a dotted name, with «» quotes removed (``«a.b».c`` -> ``['a.b', 'c']``)."""
    parts, cur, quoted = [], [], False
    for ch in ident:
        if ch == "«":
            quoted = True
        elif ch == "»":
            quoted = False
        elif ch == "." and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def normalised_code(text: str) -> tuple[str, ...]:
    """Token texts without comments: equal for texts that differ only in whitespace and comments."""
    return tuple(t.text for t in code_tokens(text))


# --- declarations -----------------------------------------------------------------------------------
DECL_KEYWORDS = ("theorem", "lemma", "example", "def", "abbrev", "instance")
MODIFIERS = ("private", "protected", "noncomputable", "nonrec", "partial", "unsafe")


@dataclass(frozen=True)
class DeclParts:
    """A declaration head: ``kind name binders : type`` (texts, comments dropped from the edges)."""

    kind: str
    name: str
    binders: str
    type: str


def split_statement(statement: str) -> DeclParts:
    """Split ``theorem foo (n : ℕ) {m} : P n`` into kind, name, binders and type.

    The type starts after the first ``:`` outside brackets that follows the name; raises ``ValueError``
    when the text is not a declaration head.
    """
    toks = code_tokens(statement)
    k = 0
    while k < len(toks) and (toks[k].text == "@[" or toks[k].text in MODIFIERS):
        if toks[k].text == "@[":
            depth = 1
            k += 1
            while k < len(toks) and depth:
                depth += toks[k].text in ("[", "@[") and 1 or 0
                depth -= toks[k].text == "]" and 1 or 0
                k += 1
        else:
            k += 1
    if k >= len(toks) or toks[k].text not in DECL_KEYWORDS:
        raise ValueError(f"not a declaration: {statement[:60]!r}")
    kind = toks[k].text
    k += 1
    name = ""
    if kind != "example":
        if k >= len(toks) or toks[k].kind != "ident":
            raise ValueError(f"declaration without a name: {statement[:60]!r}")
        name = toks[k].text
        k += 1
    binders_start = toks[k].start if k < len(toks) else len(statement)
    depth = 0
    for tok in toks[k:]:
        if tok.text in OPEN_BRACKETS or tok.text in ("@[", "%["):
            depth += 1
        elif tok.text in CLOSE_BRACKETS:
            depth -= 1
        elif tok.text == ":" and depth == 0:
            return DeclParts(
                kind, name, statement[binders_start : tok.start].strip(), statement[tok.end :].strip()
            )
    raise ValueError(f"declaration without a type (no top-level ':'): {statement[:60]!r}")


def statement_as_type(statement: str) -> str:
    """The closed type a statement declares: ``∀ binders, type`` (just ``type`` without binders)."""
    parts = split_statement(statement)
    if not parts.binders:
        return parts.type
    return f"∀ {parts.binders}, {parts.type}"
