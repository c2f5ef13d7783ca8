"""What of a request's theorem context (header and statement) may reach Lean.

Why: the header and the statement arrive over HTTP and are elaborated as Lean commands (``start``, ``verify``).
The soundness guard checks tactics and proofs; a header line such as ``#eval``, ``run_cmd`` or
``set_option debug.skipKernelTC true``, or a statement carrying a second command, would run code or weaken the
checks before any tactic is looked at. So only header commands reach Lean: ``import``, ``open`` (plain
namespaces), ``set_option`` with an option the guard allows, ``namespace``/``section``/``end``, ``universe`` and
``noncomputable section``; anything else in the header (the editor sends the whole file above the declaration,
earlier theorems included) is dropped. A statement must be one ``theorem``/``lemma``/``example`` whose binders and
type pass the tactic guard's token rules (no command keywords, ``#`` commands or banned words). Read with the
Lean lexer, never with regular expressions.

Each kept header command has an exact grammar (:func:`_header_command_refusals`): Lean's ``open``, ``universe``
and the others take names up to the first keyword and the rest of the line is parsed as a *second* command, so
``open Nat set_option debug.skipKernelTC true`` would switch the kernel check off. ``import M`` takes exactly one
module of the toolchain's libraries (:data:`IMPORT_ROOTS`); ``open [scoped] N…`` and ``namespace N`` /
``section [N]`` / ``end [N]`` take namespace names (no keyword, no lower-case single word, which is how Lean's
keywords are spelled, no ``in``); ``universe u…`` takes short universe names; ``set_option name value`` takes an
allowed option and a literal (number, string, ``true``/``false``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prover.lean.guard import check_tactic, namespace_name_refusals, statement_line_refusals
from prover.lean.lexer import LexError, Token, code_tokens
from prover.lean.statement import DeclParts

HEADER_COMMANDS = ("import", "open", "set_option", "namespace", "section", "end", "universe", "noncomputable")
DECLARATION_KINDS = ("theorem", "lemma", "example")
#: Libraries a header may import from (one module per ``import``): the toolchain's Lean project.
IMPORT_ROOTS = frozenset(
    {"Mathlib", "Batteries", "Aesop", "Qq", "ProofWidgets", "Plausible", "ImportGraph", "Std", "Init", "Lean"}
)
#: Universe names: a letter, then digits, subscripts or primes (``u``, ``v₁``, ``w'``).
_UNIVERSE_NAME = re.compile(r"[A-Za-zα-ωΑ-Ω][0-9₀-₉']*")


def clean_header(
    header: str, guard_options: Mapping[str, Any] | None = None
) -> tuple[str, list[str], list[str]]:
    """``(header to elaborate, refusals, dropped)`` for the text an editor sends before the declaration.

    Header commands are kept (and checked: a refused option or a malformed ``open`` is a refusal); every other
    command -- earlier declarations of the file, ``#eval``, ``run_cmd``, ... -- is dropped, never sent to Lean
    (``dropped`` names them by their first word). A command starts at a token in column 0; indented lines
    continue it.
    """
    try:
        tokens = code_tokens(header)
    except LexError as exc:
        return "", [f"header: {exc}"], []
    commands = _commands(header, tokens)
    kept: list[str] = []
    reasons: list[str] = []
    dropped: list[str] = []
    for n, (line, command) in enumerate(commands):
        head = command[0].text
        if head not in HEADER_COMMANDS:
            dropped.append(head)
            continue
        reasons.extend(
            f"header line {line}: {r}" for r in _header_command_refusals(head, command[1:], guard_options)
        )
        end = commands[n + 1][1][0].start if n + 1 < len(commands) else len(header)
        kept.append(header[command[0].start : end].rstrip())
    return "\n".join(kept) + ("\n" if kept else ""), reasons, dropped


def _header_command_refusals(
    head: str, args: list[Token], guard_options: Mapping[str, Any] | None
) -> list[str]:
    """Reasons to refuse one header command: its exact grammar (module docstring), every argument a name."""
    words = [t.text for t in args]
    bad = [t.text for t in args if t.kind != "ident"]
    if head == "set_option":
        if len(args) != 2 or args[0].kind != "ident":
            return ["set_option takes an option and a value"]
        return check_tactic(f"set_option {args[0].text} {args[1].text} in skip", guard_options)
    if head == "noncomputable":
        return [] if words == ["section"] else ["only 'noncomputable section' is accepted"]
    if bad:
        return [f"{head} takes plain names only, got {bad[0]!r}"]
    if head == "import":
        if len(args) != 1:
            return [f"import takes exactly one module, got {len(args)} words"]
        root = words[0].split(".")[0]
        if root not in IMPORT_ROOTS:
            return [
                f"import of {words[0]!r}: only modules of {', '.join(sorted(IMPORT_ROOTS))} may be imported"
            ]
        return []
    if head == "universe":
        if not args:
            return ["universe takes at least one name"]
        return [
            f"universe takes short universe names (u, v₁, w'), got {t.text!r}"
            for t in args
            if not _UNIVERSE_NAME.fullmatch(t.text)
        ]
    if head == "open":
        names = args[1:] if words[:1] == ["scoped"] else args
        if not names:
            return ["open takes at least one namespace"]
    elif head == "namespace":
        if len(args) != 1:
            return ["namespace takes exactly one name"]
        names = args
    else:  # section, end
        if len(args) > 1:
            return [f"{head} takes at most one name"]
        names = args
    return [r for t in names for r in namespace_name_refusals(t, guard_options)]


def statement_refusals(parts: DeclParts, guard_options: Mapping[str, Any] | None = None) -> list[str]:
    """Reasons to refuse a split statement: not a theorem, modifiers, or binders/type the guard refuses."""
    if parts.kind not in DECLARATION_KINDS:
        return [f"the statement must be a theorem, lemma or example, got {parts.kind!r}"]
    try:
        if code_tokens(parts.prefix):
            return ["attributes and modifiers before the statement are not accepted"]
    except LexError as exc:
        return [f"statement: {exc}"]
    body = f"{parts.binders} {parts.type}".strip()
    if not body:
        return ["the statement has no type"]
    # the binders and the type as they stand in the declaration (the type in its column): the line rule sees
    # the names the binders declared and where the type starts
    joint = "\n" if parts.type_column == 0 else " "
    lines = statement_line_refusals(f"{parts.binders} :{joint}{parts.type}")
    return [f"statement: {r}" for r in [*check_tactic(body, guard_options), *lines]]


def _commands(text: str, tokens: list[Token]) -> list[tuple[int, list[Token]]]:
    """Tokens grouped by command (1-based line of its start): a command starts at a token in column 0."""
    out: list[tuple[int, list[Token]]] = []
    line, counted = (
        1,
        0,
    )  # lines counted up to offset ``counted``: one pass over the text, not one per command
    for tok in tokens:
        column0 = tok.start == 0 or text[tok.start - 1] == "\n"
        if column0 or not out:
            line += text.count("\n", counted, tok.start)
            counted = tok.start
            out.append((line, [tok]))
        else:
            out[-1][1].append(tok)
    return out


def fps_refusals(problem: Any, guard_options: Mapping[str, Any] | None = None) -> list[str]:
    """Reasons to refuse an FPS problem sent over HTTP: its header and every text placed in a Lean command."""
    header = problem.header or ""
    kept, reasons, dropped = clean_header(header, guard_options)
    reasons = [f"problem.{r}" for r in reasons]
    if dropped:
        reasons.append(f"problem.header: only header commands are accepted, got {dropped[0]!r}")
    texts = [("formal_answer", problem.formal_answer), ("formal_answer_type", problem.formal_answer_type)]
    for group in ("intros", "outros"):
        for i, var in enumerate(getattr(problem, group)):
            texts += [(f"{group}[{i}].{key}", getattr(var, key)) for key in ("t", "name", "v")]
    for where, text in texts:
        if text is not None and str(text).strip():
            reasons.extend(f"problem.{where}: {r}" for r in check_tactic(str(text), guard_options))
    return reasons
