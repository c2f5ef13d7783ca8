"""Lean source as commands: where each command starts, what it declares, and where a proof begins.

Benchmark files and user statements are Lean text, and regexes on raw text get Lean wrong (a ``theorem`` in a
comment, ``:= by sorry -- TODO``, a ``let x := …`` inside a statement, theorems inside ``namespace``). This
module works on the lexer's tokens (``prover.lean.lexer.tokenize``) and follows how Lean's parser splits a
file: a command starts at a command keyword (after its doc comment, attributes and modifiers); ``open … in``
and ``set_option … in`` are prefixes of the command that follows them; ``namespace``/``section``/``mutual``
… ``end`` open and close scopes, so a declaration's full name carries the enclosing namespaces.

It is a splitter, not a parser: a command that Lean would reject is still cut at the next command keyword, as
Lean's own error recovery does.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.lean.errors import LeanError
from prover.lean.lexer import Token, bracket_delta, name_parts, tokenize
from prover.lean.statement import MODIFIERS, skip_head

#: Keywords that declare something (a theorem/lemma is a problem when its proof is open).
DECLARATIONS = frozenset(
    {
        "theorem",
        "lemma",
        "def",
        "abbrev",
        "example",
        "instance",
        "structure",
        "inductive",
        "class",
        "axiom",
        "opaque",
    }
)
THEOREMS = frozenset({"theorem", "lemma"})
#: Command keywords that are never part of a term or tactic: they start a command even after an error.
_STRONG = frozenset(
    {"theorem", "lemma", "def", "abbrev", "example", "axiom", "opaque", "structure", "inductive"}
    | {"namespace", "section", "end", "mutual", "universe", "variable", "import", "export", "omit", "include"}
    | {"macro", "macro_rules", "syntax", "elab", "elab_rules", "notation", "infix", "infixl", "infixr"}
    | {"prefix", "postfix", "declare_syntax_cat", "initialize", "builtin_initialize", "attribute"}
)
#: Keywords that start a command only outside brackets (``[instance]``, ``open … in`` inside a proof).
_WEAK = frozenset({"instance", "class", "open", "set_option"})
_KEYWORDS = DECLARATIONS | _STRONG | _WEAK
_LOCAL_DEFS = frozenset({"let", "have", "letI", "haveI", "let_fun"})  # never a declared name


class SourceError(LeanError, ValueError):
    """Text that cannot be split into Lean commands (an unterminated comment or string)."""


@dataclass(frozen=True)
class Command:
    """One command of a Lean file.

    ``start``/``end``: its span, from its first token (doc comment, attribute, modifier or keyword; a
    prefix ``open … in`` included) to the next command's first token, so the spans tile the text after
    the first command. ``decl_start`` is where the declaration proper starts (after the ``… in``
    prefixes, whose texts without ``in`` are ``prefixes``). ``name`` is the declared name as written
    (``""`` when none); ``namespace`` the enclosing namespaces' components at this command.
    """

    keyword: str
    start: int
    end: int
    decl_start: int
    name: str
    namespace: tuple[str, ...]
    prefixes: tuple[str, ...]
    text: str

    @property
    def is_theorem(self) -> bool:
        return self.keyword in THEOREMS

    @property
    def full_name(self) -> str:
        """The name Lean gives the declaration: namespaces prepended, ``_root_.`` removed."""
        if not self.name:
            return ""
        if self.name.startswith("_root_."):
            return self.name.removeprefix("_root_.")
        return ".".join([*self.namespace, self.name])

    @property
    def declaration(self) -> str:
        """The command's text from ``decl_start`` (without prefixes)."""
        return self.text[self.decl_start - self.start :]


def _tokens(text: str) -> list[Token]:
    try:
        return tokenize(text)
    except ValueError as exc:  # LexError
        raise SourceError(str(exc)) from exc


def _prefix_end(code: list[Token], k: int) -> int | None:
    """For ``open …``/``set_option …`` at ``k``: the index after its ``in`` when one follows, else None."""
    n = len(code)
    j = k + 1
    if code[k].text == "set_option":
        j = min(n, k + 3)  # name and value
    else:
        depth = 0
        while j < n:
            tok = code[j]
            if depth == 0 and tok.kind == "ident" and (tok.text == "in" or _starts(code, j, 0)):
                break
            if tok.kind not in ("ident", "symbol") or (tok.kind == "symbol" and tok.text == ":="):
                break
            depth += bracket_delta(tok)
            if depth < 0:
                break
            j += 1
    if j < n and code[j].kind == "ident" and code[j].text == "in":
        return j + 1
    return None


def _starts(code: list[Token], k: int, depth: int) -> bool:
    """Does a command start at ``code[k]`` (a code or doc-comment token) at bracket ``depth``?"""
    tok = code[k]
    if tok.kind == "comment":
        return tok.text.startswith(("/--", "/-!"))
    if tok.kind == "hash":
        return depth == 0
    if tok.kind == "symbol":
        return tok.text == "@[" and depth == 0
    if tok.kind != "ident":
        return False
    word = tok.text
    if word in _STRONG:
        return True
    if word in MODIFIERS:
        if depth:
            return False
        after = skip_head(code, k)
        return after < len(code) and code[after].kind == "ident" and code[after].text in _KEYWORDS
    if word == "deriving":
        return k + 1 < len(code) and code[k + 1].text == "instance"
    if word in _WEAK and depth == 0:
        if word in ("open", "set_option"):
            end = _prefix_end(code, k)
            # `open X in tac` inside a proof is a tactic; `open X in theorem …` and `open X` are commands
            return end is None or (end < len(code) and _starts(code, end, 0))
        return k == 0 or code[k - 1].text != "deriving"
    return False


def _head(code: list[Token], k: int, limit: int) -> tuple[list[tuple[int, int]], int, int]:
    """A command's head from ``k``: its ``open/set_option … in`` prefixes as ``(first, in)`` token indices,
    the index where the declaration proper starts, and the index of its keyword."""
    prefixes = []
    decl = k
    while decl < limit and code[decl].kind == "ident" and code[decl].text in ("open", "set_option"):
        after = _prefix_end(code, decl)
        if after is None or after >= limit:
            break
        prefixes.append((decl, after - 1))
        decl = after
    return prefixes, decl, skip_head(code, decl)


def split_commands(text: str) -> tuple[str, list[Command]]:
    """The text before the first command (comments, blank lines), and the commands in order.

    Raises :class:`SourceError` when the text cannot be lexed (e.g. an unterminated block comment).
    """
    # code tokens plus doc comments (which start declarations); other comments are layout
    code = [t for t in _tokens(text) if t.kind != "comment" or t.text.startswith(("/--", "/-!"))]
    n = len(code)
    starts: list[int] = []
    depth = k = 0
    while k < n:
        if _starts(code, k, depth):
            starts.append(k)
            depth = 0
            k = max(k, _head(code, k, n)[2]) + 1  # the head's own keywords start nothing new
            continue
        depth = max(0, depth + bracket_delta(code[k]))
        k += 1
    if not starts:
        return text, []
    commands: list[Command] = []
    scopes: list[tuple[str, tuple[str, ...]]] = []
    for i, k in enumerate(starts):
        limit = starts[i + 1] if i + 1 < len(starts) else n
        start, end = code[k].start, code[limit].start if limit < n else len(text)
        prefix_spans, decl, kw = _head(code, k, limit)
        prefixes = tuple(text[code[a].start : code[b].start].strip() for a, b in prefix_spans)
        decl_start = code[decl].start if decl < limit else start
        head = kw if kw < limit else k
        tok = code[head]
        keyword = tok.text if tok.kind != "comment" else "comment"
        if keyword == "deriving":
            keyword = "deriving instance"
        name = _declared_name(code, head, end) if keyword in DECLARATIONS else ""
        namespace = tuple(part for kind, parts in scopes if kind == "namespace" for part in parts)
        commands.append(Command(keyword, start, end, decl_start, name, namespace, prefixes, text[start:end]))
        _update_scopes(scopes, code, head, end, keyword)
    return text[: commands[0].start], commands


def _declared_name(code: list[Token], head: int, end: int) -> str:
    """The identifier after the declaration keyword at ``head`` (``""`` for ``example``/anonymous instances)."""
    k = head + 1
    if code[head].text == "instance" and k < len(code) and code[k].text == "(":  # instance (priority := …)
        depth, k = 1, k + 1
        while k < len(code) and depth:
            depth += bracket_delta(code[k])
            k += 1
    if k < len(code) and code[k].start < end and code[k].kind == "ident" and code[k].text not in _LOCAL_DEFS:
        return code[k].text.rstrip(".")  # `foo.{u}` may lex as `foo.` then `{`
    return ""


def _update_scopes(
    scopes: list[tuple[str, tuple[str, ...]]], code: list[Token], head: int, end: int, keyword: str
) -> None:
    nxt = code[head + 1] if head + 1 < len(code) and code[head + 1].start < end else None
    if keyword == "namespace" and nxt is not None and nxt.kind == "ident":
        scopes.append(("namespace", tuple(name_parts(nxt.text))))
    elif keyword in ("section", "mutual"):
        scopes.append((keyword, ()))
    elif keyword == "end" and scopes:
        if nxt is not None and nxt.kind == "ident" and scopes[-1][0] == "namespace":
            # `end A.B` closes as many namespace levels as it names
            closing = len(name_parts(nxt.text))
            while closing > 0 and scopes and scopes[-1][0] == "namespace":
                closing -= len(scopes.pop()[1])
        else:
            scopes.pop()


@dataclass(frozen=True)
class ProofSplit:
    """A declaration cut at its proof's ``:=``: ``statement`` before it, the proof's code tokens after."""

    statement: str
    proof: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        """No proof yet: nothing, ``by``, ``by sorry`` or ``sorry`` after ``:=``."""
        return self.proof in ((), ("by",), ("by", "sorry"), ("sorry",))

    @property
    def uses_sorry(self) -> bool:
        return "sorry" in self.proof


def split_proof(declaration: str) -> ProofSplit | None:
    """Cut a declaration at the ``:=`` that starts its proof (None when it has none, e.g. ``| 0 => …``).

    That ``:=`` is found by :func:`prover.lean.statement.proof_assign_index` (the first one outside
    brackets that no ``let``/``have`` of the statement claims). Comments never count.
    """
    from prover.lean.statement import proof_assign_index

    code = [t for t in _tokens(declaration) if t.is_code]
    k = proof_assign_index(code)
    if k is None:
        return None
    return ProofSplit(declaration[: code[k].start].rstrip(), tuple(t.text for t in code[k + 1 :]))
