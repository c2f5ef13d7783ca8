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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prover.lean.guard import check_tactic
from prover.lean.lexer import LexError, Token, code_tokens
from prover.lean.statement import DeclParts

HEADER_COMMANDS = ("import", "open", "set_option", "namespace", "section", "end", "universe", "noncomputable")
DECLARATION_KINDS = ("theorem", "lemma", "example")


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
    if head == "set_option":
        if len(args) != 2:
            return ["set_option takes an option and a value"]
        return check_tactic(f"set_option {args[0].text} {args[1].text} in skip", guard_options)
    if head == "noncomputable":
        return [] if [t.text for t in args] == ["section"] else ["only 'noncomputable section' is accepted"]
    bad = [t.text for t in args if t.kind != "ident"]
    return [f"{head} takes plain names only, got {bad[0]!r}"] if bad else []


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
    return (
        [f"statement: {r}" for r in check_tactic(body, guard_options)]
        if body
        else ["the statement has no type"]
    )


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
