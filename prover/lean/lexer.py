"""A Lean 4 lexer that reads text the way Lean's own parser does, and refuses what it cannot be sure of.

The soundness guard must never see text differently from Lean: a comment, string or identifier boundary in
the wrong place lets ``sorry`` or a command through (``/-/- -/ sorry``, ``sorryᶜ``, ``2sorry``,
``s!"{sorry}"``). So the rules below follow ``Lean.Parser.Basic`` (``whitespace``, ``finishCommentBlock``,
``identFnAux``, ``strLitFnAux``, ``charLitFnAux``, ``quotedCharCoreFn``, raw strings, number literals) and
``Init.Meta`` (``isLetterLike``, ``isSubScriptAlnum``, ``isIdFirst``, ``isIdRest``): Lean's ``isAlpha`` and
``isDigit`` are ASCII, only space and ``\\n`` are whitespace, only ``\\n`` ends a line comment, and the
character after ``/-`` is skipped before nesting is counted.

What Lean's token table decides (notation tokens from Mathlib) cannot be known statically, so where it could
change the reading -- a quote, backtick or comment marker glued to a notation symbol -- or where Lean
versions differ (Latin-1 letters), or where a character is invisible or a line break only for Python (tabs,
CR, U+2028, U+0085, bidi and zero-width characters), ``LexError`` is raised: refuse rather than guess.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from prover.lean.errors import LeanError

OPEN_BRACKETS = "([{⦃⟨"
CLOSE_BRACKETS = ")]}⦄⟩"
_MULTI_SYMBOLS = (":=", "=>", "<;>", "..", "@[", "%[", "#[", "''")
#: Tokens after which Lean parses an interpolated string (``interpolatedStr``), not a plain one.
INTERPOLATION_KEYWORDS = frozenset({"s!", "m!", "f!", "throwError", "throwErrorAt", "dbg_trace"})
#: Symbols after which a glued quote/comment marker cannot be part of a longer notation token.
_SAFE_BEFORE_SPECIAL = set(OPEN_BRACKETS + CLOSE_BRACKETS + ",")


class LexError(LeanError, ValueError):
    """Text that Lean would not lex, or would lex in a way this lexer cannot be sure of."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Token:
    kind: str  # ident | percent (``eval%``) | number | string | char | name | hash | symbol | comment
    text: str
    start: int
    end: int

    @property
    def is_code(self) -> bool:
        return self.kind != "comment"


#: Symbol tokens that open / close one bracket level. ``@[``, ``%[`` and ``#[`` open a level that ``]`` closes;
#: ``⟦…⟧`` and ``‹…›`` are brackets too. The one table of bracket depth for every scan in the Lean layer.
OPENING_TOKENS = frozenset({"(", "[", "{", "⦃", "⟨", "@[", "%[", "#[", "⟦", "‹", ".{"})
CLOSING_TOKENS = frozenset({")", "]", "}", "⦄", "⟩", "⟧", "›"})


def bracket_delta(tok: Token) -> int:
    """+1 for a token that opens a bracket, -1 for one that closes one, else 0 (strings/comments never count)."""
    if tok.kind == "symbol":
        if tok.text in OPENING_TOKENS:
            return 1
        if tok.text in CLOSING_TOKENS:
            return -1
    return 0


# --- Lean's character classes (Init/Meta) ------------------------------------------------------------
def _is_letter_like(cp: int) -> bool:
    return (
        (0x3B1 <= cp <= 0x3C9 and cp != 0x3BB)
        or (0x391 <= cp <= 0x3A9 and cp not in (0x3A0, 0x3A3))
        or 0x3CA <= cp <= 0x3FB
        or 0x1F00 <= cp <= 0x1FFE
        or 0x2100 <= cp <= 0x214F
        or 0x1D49C <= cp <= 0x1D59F
    )


def _is_subscript_alnum(cp: int) -> bool:
    return 0x2080 <= cp <= 0x2089 or 0x2090 <= cp <= 0x209C or 0x1D62 <= cp <= 0x1D6A


def is_uncertain_ident_char(ch: str) -> bool:
    """Letters whose identifier status differs between Lean versions (Latin-1/Latin Extended-A, ⱼ, ⁿ)."""
    cp = ord(ch)
    return (0xC0 <= cp <= 0x17F and cp not in (0xD7, 0xF7)) or cp in (0x2C7C, 0x207F)


def _is_ascii_alpha(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def is_ident_start(ch: str) -> bool:
    """Lean's ``isIdFirst``: ASCII letters, ``_`` and letter-like symbols (Greek but λΠΣ, ℕ, 𝔽 ...)."""
    return len(ch) == 1 and (_is_ascii_alpha(ch) or ch == "_" or _is_letter_like(ord(ch)))


def is_ident_rest(ch: str) -> bool:
    """Lean's ``isIdRest``: also ASCII digits, ``'``, ``!``, ``?`` and subscripts (not Python's isalnum)."""
    return len(ch) == 1 and (
        is_ident_start(ch) or ("0" <= ch <= "9") or ch in "'!?" or _is_subscript_alnum(ord(ch))
    )


def _is_hex(ch: str) -> bool:
    return ("0" <= ch <= "9") or ("a" <= ch <= "f") or ("A" <= ch <= "F")


def forbidden_char_reason(ch: str) -> str | None:
    """Why a character may not appear anywhere in text sent to Lean (None when it may)."""
    if ch == "\n" or (" " <= ch <= "~"):
        return None
    cp = ord(ch)
    name = f"U+{cp:04X}"
    if ch == "\t":
        return "a tab (Lean refuses tabs)"
    if ch == "\r":
        return "a carriage return (Lean refuses lone CR; only \\n ends a line)"
    category = unicodedata.category(ch)
    if category in ("Zl", "Zp") or cp == 0x85 or ch in "\x0b\x0c":
        return f"{name}, a line break for Python but not for Lean"
    if category == "Cc":
        return f"control character {name}"
    if category == "Zs":
        return f"{name}, a space that is not whitespace for Lean"
    if category == "Cf":
        return f"invisible format character {name} (bidi/zero-width)"
    if category in ("Cs", "Co", "Cn"):
        return f"unassigned or private-use character {name}"
    if category.startswith("M"):
        return f"combining mark {name}"
    return None


# --- the lexer ---------------------------------------------------------------------------------------
class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.tokens: list[Token] = []

    def fail(self, message: str, offset: int) -> LexError:
        return LexError(f"{message} at {position(self.text, offset)}", offset)

    def at(self, i: int) -> str:
        return self.text[i] if i < self.n else ""

    def emit(self, kind: str, start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start, end))

    def glued_to_symbol(self, i: int, floor: int) -> bool:
        """Whether the code token before ``i`` is a symbol that touches it (a notation could extend it)."""
        if not self.tokens:
            return False
        prev = self.tokens[-1]
        return (
            prev.start >= floor
            and prev.kind == "symbol"
            and prev.end == i
            and prev.text[-1] not in _SAFE_BEFORE_SPECIAL
        )

    def after_projection_dot(self, i: int) -> bool:
        """Whether ``i`` follows a ``.`` glued on both sides (``x.1``, ``(a, b).2``): a projection's index."""
        if len(self.tokens) < 2:
            return False
        dot, before = self.tokens[-1], self.tokens[-2]
        return (
            dot.kind == "symbol"
            and dot.text == "."
            and dot.end == i
            and before.is_code
            and before.end == dot.start
        )

    # whitespace and comments (Lean's ``whitespace``)
    def skip_space(self, i: int, floor: int) -> int:
        while i < self.n:
            ch = self.text[i]
            if ch in " \n":
                i += 1
            elif self.text.startswith("--", i) or self.text.startswith("/-", i):
                if self.glued_to_symbol(i, floor):
                    raise self.fail("comment marker glued to a notation symbol (ambiguous)", i)
                end = self.text.find("\n", i) if ch == "-" else self.block_comment_end(i)
                end = self.n if end == -1 else end
                self.emit("comment", i, end)
                i = end
            else:
                return i
        return i

    def block_comment_end(self, i: int) -> int:
        # Lean looks at the character after "/-" only to tell doc comments apart, then skips it.
        j, depth = i + 3, 1
        if i + 2 >= self.n:
            raise self.fail("unterminated comment", i)
        while j < self.n:
            if self.text.startswith("-/", j):
                depth -= 1
                j += 2
                if depth == 0:
                    return j
            elif self.text.startswith("/-", j):
                depth += 1
                j += 2
            else:
                j += 1
        raise self.fail("unterminated comment", i)

    # code
    def code(self, i: int, closing: bool) -> int:
        """Lex code from ``i``; with ``closing``, stop at the ``}`` ending an interpolation (returned)."""
        floor = i
        depth = 0
        while True:
            i = self.skip_space(i, floor)
            if i >= self.n:
                if closing:
                    raise self.fail("unterminated interpolation in a string", i)
                return i
            ch = self.text[i]
            if closing and depth == 0 and ch == "}":
                return i
            if ch in OPEN_BRACKETS:
                depth += 1
            elif ch in CLOSE_BRACKETS:
                depth -= 1
                if closing and depth < 0:
                    raise self.fail(f"unbalanced '{ch}' in a string interpolation", i)
            i = self.token(i, floor)

    def token(self, i: int, floor: int) -> int:
        text, ch, nxt = self.text, self.text[i], self.at(i + 1)
        glued = self.glued_to_symbol(i, floor)
        if ch == '"':
            if glued:
                raise self.fail("string literal glued to a notation symbol (ambiguous)", i)
            return self.string(i)
        if ch == "'" and nxt != "'":
            end = self.char_literal(i)
            if glued:
                if end is not None:
                    raise self.fail("quote after a notation symbol: char literal or notation? (ambiguous)", i)
                self.emit("symbol", i, i + 1)
                return i + 1
            if end is None:
                raise self.fail("invalid character literal", i)
            self.emit("char", i, end)
            return end
        if "0" <= ch <= "9":
            if ch != "0" and self.after_projection_dot(i):
                # `p.1.eval`: a projection index is digits only. Lean's `Term.proj` (no space, `.`, no space,
                # `fieldIdx <|> rawIdent`) reads it with `fieldIdxFn` (Lean/Parser/Basic.lean: a nonzero digit,
                # then digits), never with the numeral scanner, whose `1.` and `1.e…` would swallow `.eval`.
                end = i
                while "0" <= self.at(end) <= "9":
                    end += 1
                self.emit("number", i, end)
                return end
            return self.number(i)
        if ch == "`":
            if glued:
                raise self.fail("backtick glued to a notation symbol (ambiguous)", i)
            if is_ident_start(nxt) or nxt == "«":
                end = self.ident(i + 1)
                self.emit("name", i, end)
                return end
            self.emit("symbol", i, i + 1)
            return i + 1
        if ch == "r" and self.raw_string_start(i + 1):
            return self.raw_string(i)
        if ch == "«" or is_ident_start(ch):
            if ch == "«" and glued:
                raise self.fail("'«' glued to a notation symbol (ambiguous)", i)
            end = self.ident(i)
            if self.at(end) == "%":
                # `eval%`, `decl_name%`, `type_of%`: Lean's token table holds these whole, and a token at least as
                # long as the identifier wins (`isToken` in `identFnAux`, Lean/Parser/Basic.lean), so `eval%` is
                # one keyword, never `eval` then `%`. Which `ident%` tokens exist depends on the imports: every
                # one is read as a keyword (kind ``percent``) and the guard allows only known harmless ones. Also
                # before `[`: `eval%[1]` is `eval%` then `[` for Lean (the longest token at the identifier's
                # start wins over `%[` after it).
                self.emit("percent", i, end + 1)
                return end + 1
            self.emit("ident", i, end)
            return end
        if ch == "#" and (is_ident_start(nxt) or nxt == "«"):
            end = self.ident(i + 1)
            self.emit("hash", i, end)
            return end
        if is_uncertain_ident_char(ch):
            raise self.fail(f"'{ch}' is an identifier character only in some Lean versions", i)
        sym = next((s for s in _MULTI_SYMBOLS if text.startswith(s, i)), ch)
        self.emit("symbol", i, i + len(sym))
        return i + len(sym)

    def ident(self, i: int) -> int:
        """End of a (dotted) identifier at ``i`` (Lean's ``identFnAux``)."""
        j = i
        while True:
            if self.at(j) == "«":
                close = self.text.find("»", j + 1)
                if close == -1:
                    raise self.fail("unterminated «escaped name»", j)
                j = close + 1
            elif j < self.n and is_ident_start(self.text[j]):
                j += 1
                while j < self.n and is_ident_rest(self.text[j]):
                    j += 1
            else:
                raise self.fail("expected an identifier", j)
            if self.at(j) == "." and (is_ident_start(self.at(j + 1)) or self.at(j + 1) == "«"):
                j += 1
                continue
            if j < self.n and is_uncertain_ident_char(self.text[j]):
                raise self.fail(f"'{self.text[j]}' is an identifier character only in some Lean versions", j)
            return j

    def number(self, i: int) -> int:
        """Lean's ``numberFnAux``: 0b/0o/0x literals, decimals with ``_``, optional ``.digits`` and exponent."""
        text = self.text
        if text[i] == "0" and self.at(i + 1) in ("b", "B", "o", "O", "x", "X") and self.at(i + 1):
            base = self.at(i + 1).lower()
            ok = {"b": lambda c: c in "01", "o": lambda c: "0" <= c <= "7", "x": _is_hex}[base]
            end = self.digits(i + 2, ok, need=True)
        else:
            end = self.digits(i, lambda c: "0" <= c <= "9", need=False)
            if self.at(end) == ".":
                end += 1
                if "0" <= self.at(end) <= "9":
                    end = self.digits(end, lambda c: "0" <= c <= "9", need=False)
            if self.at(end) in ("e", "E"):
                end += 1
                if self.at(end) in ("+", "-"):
                    end += 1
                if not ("0" <= self.at(end) <= "9"):
                    raise self.fail("missing exponent digits in a number", end)
                end = self.digits(end, lambda c: "0" <= c <= "9", need=False)
        self.emit("number", i, end)
        return end

    def digits(self, j: int, ok: Callable[[str], bool], need: bool) -> int:
        while j < self.n:
            c = self.text[j]
            if c == "_":
                need = True
            elif ok(c):
                need = False
            else:
                break
            j += 1
        if need:
            raise self.fail("malformed number literal", j)
        return j

    def char_literal(self, i: int) -> int | None:
        """End of the char literal at ``i`` (Lean's ``charLitFnAux``), or None when it is not one."""
        j = i + 1
        if j >= self.n:
            return None
        if self.text[j] == "\\":
            after = self.escape(j + 1, in_string=False, interpolated=False)
            if after is None:
                return None
            j = after
        else:
            j += 1
        return j + 1 if self.at(j) == "'" else None

    def escape(self, j: int, in_string: bool, interpolated: bool) -> int | None:
        """Position after the escape whose character is at ``j`` (after the backslash); None when invalid."""
        c = self.at(j)
        if c and c in "\\\"'rnt" or (interpolated and c == "{"):
            return j + 1
        if c in ("x", "u") and c:
            count = 2 if c == "x" else 4
            if all(_is_hex(self.at(j + 1 + k)) for k in range(count)):
                return j + 1 + count
            return None
        if in_string and c == "\n":
            k, newlines = j, 0
            while self.at(k) in (" ", "\n") and self.at(k):
                newlines += self.at(k) == "\n"
                k += 1
            return k if newlines == 1 else None
        return None

    def string_end(self, i: int, interpolated: bool) -> tuple[int | None, list[tuple[int, int]]]:
        """End of the string at ``i`` read plain or interpolated, and the ``{...}`` code spans found."""
        j = i + 1
        spans: list[tuple[int, int]] = []
        while j < self.n:
            c = self.text[j]
            if c == '"':
                return j + 1, spans
            if c == "\\":
                after = self.escape(j + 1, in_string=True, interpolated=interpolated)
                if after is None:
                    return None, spans
                j = after
            elif c == "{" and interpolated:
                sub = _Lexer(self.text)
                try:
                    close = sub.code(j + 1, closing=True)
                except LexError:
                    return None, spans
                spans.append((j + 1, close))
                j = close + 1
            else:
                j += 1
        return None, spans

    def string(self, i: int) -> int:
        prev = self.tokens[-1].text if self.tokens else ""
        plain, _ = self.string_end(i, interpolated=False)
        if plain is not None and "{" not in self.text[i:plain]:
            self.emit("string", i, plain)
            return plain
        interp, spans = self.string_end(i, interpolated=True)
        if interp is None or (plain != interp and prev not in INTERPOLATION_KEYWORDS):
            what = (
                "invalid or unterminated string literal"
                if interp is None and plain is None
                else ("string literal that reads differently plain and interpolated (ambiguous)")
            )
            raise self.fail(what, i)
        if not spans:
            self.emit("string", i, interp)
            return interp
        # the literal pieces and the code between them, in order (Lean's interpolatedStrLit chunks)
        piece_start = i
        for open_at, close in spans:
            self.emit("string", piece_start, open_at)
            self.code(open_at, closing=True)
            piece_start = close
        self.emit("string", piece_start, interp)
        return interp

    def raw_string_start(self, j: int) -> bool:
        while self.at(j) == "#":
            j += 1
        return self.at(j) == '"'

    def raw_string(self, i: int) -> int:
        j, hashes = i + 1, 0
        while self.text[j] == "#":
            hashes += 1
            j += 1
        close = '"' + "#" * hashes
        end = self.text.find(close, j + 1)
        if end == -1:
            raise self.fail("unterminated raw string literal", i)
        self.emit("string", i, end + len(close))
        return end + len(close)


def position(text: str, offset: int) -> str:
    """``line L, column C`` (1-based; lines end at ``\\n`` only, as in Lean) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` including comments (``kind == "comment"``); whitespace is dropped.

    Raises ``LexError`` (naming the position) for text Lean would not lex or that could be read two ways.
    """
    for offset, ch in enumerate(text):
        reason = forbidden_char_reason(ch)
        if reason:
            raise LexError(f"{reason} at {position(text, offset)}", offset)
    lexer = _Lexer(text)
    lexer.code(0, closing=False)
    return lexer.tokens


def code_tokens(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.is_code]


def name_parts(ident: str) -> list[str]:
    """Components of a dotted name, with «» quotes removed (``«a.b».c`` -> ``['a.b', 'c']``)."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in ident:
        if ch == "«" and not quoted:
            quoted = True
        elif ch == "»" and quoted:
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
