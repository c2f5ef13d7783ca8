"""A theorem header read as Lean reads it: the imports (which need a process of their own) and the rest.

The pool keys its processes by the imports only. A REPL process pays for ``import Mathlib`` once (tens of
seconds, a hundred thousand ``stat`` calls); ``open``, ``set_option``, ``namespace`` and ``universe`` lines are
ordinary commands that run on the imported environment in milliseconds, so two theorems whose headers differ
only in those lines can share a process. Reading the header with the project's lexer (``prover.lean.lexer``)
rather than by lines means that comments (``/- … -/`` spanning lines, ``--`` after a module name), whitespace
and line breaks never change the key, and that ``import`` inside a comment or a string is not an import.

What Lean allows in a header (``Lean.Parser.Module.header``): an optional ``module`` keyword, an optional
``prelude``, then ``import`` commands, each possibly ``public`` / ``meta`` / ``private`` and with ``all``; the
header ends at the first token that does not continue an import. We normalise:

* each import to its tokens joined by one space (``public import Mathlib.Tactic``);
* the list to unique entries, sorted: the environment that ``importModules`` builds holds the declarations of
  the closure of the imported modules, whatever the order they are named in; ``module`` and ``prelude``
  (which change what the file is, not what it imports) stay first, in that order;
* nothing else: ``import Mathlib`` and ``import Mathlib.Tactic`` are different keys even though the first
  contains the second, because the larger environment changes what ``simp`` and instance search find, and
  the REPL's answers would then differ from the header the user wrote.

Text that the lexer refuses (``LexError``: a character it cannot be sure of) gets the line-based split the
pool used before, so an odd header still runs: it shares a process only with the very same import lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.lean.lexer import LexError, Token, tokenize

#: Words that may start an import command or precede ``import`` in it (Lean >= 4.22's module system).
_IMPORT_MODIFIERS = frozenset({"public", "meta", "private"})
#: Words that may open a header before the imports; they are kept, first, in this order.
_HEADER_WORDS = ("module", "prelude")


@dataclass(frozen=True)
class HeaderKey:
    """The imports of a header, normalised (the pool's key), and the commands that follow them."""

    #: ``("import Mathlib", "import Mathlib.Tactic")``: sorted, unique; ``module``/``prelude`` first.
    imports: tuple[str, ...]
    #: The header after its imports, exactly as written (``open …``, ``set_option …``): run on the import env.
    rest: str
    #: True when the lexer could not read the header and the line-based split was used instead.
    textual: bool = False

    @property
    def import_text(self) -> str:
        """The imports as the one command the REPL elaborates first (one per line)."""
        return "\n".join(self.imports)


def header_key(header: str) -> HeaderKey:
    """Split ``header`` into its normalised imports and the commands after them (see the module docstring)."""
    try:
        tokens = [t for t in tokenize(header) if t.is_code]
    except LexError:
        return _textual(header)
    lead: list[str] = []
    imports: list[str] = []
    i = 0
    for word in _HEADER_WORDS:
        if i < len(tokens) and tokens[i].kind == "ident" and tokens[i].text == word:
            lead.append(word)
            i += 1
    while True:
        parsed = _import_at(tokens, i)
        if parsed is None:
            break
        text, i = parsed
        imports.append(text)
    rest = header[tokens[i].start :].strip() if i < len(tokens) else ""
    return HeaderKey((*lead, *sorted(set(imports))), rest)


def _import_at(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """The import command starting at token ``i`` as normalised text and the index after it, or None."""
    words: list[str] = []
    j = i
    while j < len(tokens) and tokens[j].kind == "ident" and tokens[j].text in _IMPORT_MODIFIERS:
        words.append(tokens[j].text)
        j += 1
    if j >= len(tokens) or tokens[j].kind != "ident" or tokens[j].text != "import":
        return None
    words.append("import")
    j += 1
    if j < len(tokens) and tokens[j].kind == "ident" and tokens[j].text == "all":
        words.append("all")
        j += 1
    if j >= len(tokens) or tokens[j].kind != "ident":
        return None  # ``import`` without a module name: Lean's error, not a header we can key
    words.append(tokens[j].text)
    return " ".join(words), j + 1


def _textual(header: str) -> HeaderKey:
    """The line-based split: leading ``import`` lines as written, then the rest."""
    imports: list[str] = []
    rest: list[str] = []
    for line in header.splitlines():
        (imports if line.strip().startswith("import ") and not rest else rest).append(line)
    return HeaderKey(tuple(line.strip() for line in imports if line.strip()), "\n".join(rest).strip(), True)


def shared_fraction(headers: list[str]) -> dict[str, float | int]:
    """How many processes a pool needs for ``headers`` keyed by raw text vs. by :func:`header_key`.

    ``hit_rate`` is the fraction of headers that find a process already importing their key (one process per
    distinct key), the figure ``bench/README.md`` reports for the benchmarks' headers.
    """
    n = len(headers)
    by_text = len(set(headers))
    by_key = len({header_key(h).imports for h in headers})
    return {
        "headers": n,
        "distinct_text": by_text,
        "distinct_keys": by_key,
        "hit_rate_text": (n - by_text) / n if n else 0.0,
        "hit_rate_key": (n - by_key) / n if n else 0.0,
    }
