"""Whole-proof verification: the only check whose "yes" counts as a proved theorem.

Four checks, in order; the verdict names the first that failed (``Verdict.check``):

1. ``guard``: the static soundness guard (cheap, and it keeps cheating text away from Lean);
2. ``compile``: the declaration with the candidate proof, elaborated as ONE REPL command on the header's env,
   must have no error and no ``sorry``. A tactic script (anything that is not a full declaration, including
   a script starting with ``set_option … in``) is ALWAYS compiled as ``<statement> := by <script>``; a full
   declaration must declare the theorem's own name (so a header that already declares NAME is an
   "already declared" error, never a free pass);
3. ``statement``: ``example : ∀ <binders of the ORIGINAL statement>, <its type> := @NAME`` as a SEPARATE
   REPL command on the env the declaration returned (``{"cmd": …, "env": N}``);
4. ``axioms``: ``#print axioms NAME``, again a separate command on that env; its report is the info message
   that lies inside that command's own text (by position), and it must list only ``allowed_axioms``.

Why separate commands: text after the proof in the same command could be wrapped or silenced by the proof
(``#guard_msgs in`` at its end, an unclosed comment, ``end``), and messages printed by the proof (``trace``,
``#check``, ``logInfo``) could forge an axiom report. A separate command is parsed on its own, and its
answer carries only its own messages. Why the ``example``: the guard requires the statement text to be the
original one, but text is not meaning; the kernel accepting ``@NAME`` at the re-elaborated original type
means the original statement is proved, whatever the candidate declaration elaborated to.

``verify_proof`` never raises for anything about the proof or Lean (timeouts and crashes of the backend are
rejections with the reason); only malformed guard *options* (a configuration error) raise ``ValueError``.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prover.lean.guard import GuardOptions, check_proof
from prover.lean.lexer import code_tokens
from prover.lean.protocol import Message, ProtocolError, Response
from prover.lean.statement import DECL_KEYWORDS, DeclParts, skip_head, split_declaration, split_statement
from prover.lean.types import LeanDiagnostic, Theorem, Verdict

STATIC_ONLY_NOTE = "static checks only: Lean did not check this proof"
_AXIOMS_REPORT = re.compile(
    r"'(?P<name>.+?)' (?:depends on axioms: \[(?P<list>[^\]]*)\]|(?P<none>does not depend on any axioms))",
    re.DOTALL,
)
#: The checks, in the order they run; ``Verdict.check`` names the one that failed.
CHECKS = ("guard", "compile", "statement", "axioms")


class RunCommand(Protocol):
    """``run(command, env=None) -> Response | dict``: elaborate one REPL command.

    ``env=None``: on the theorem's header env (a fresh env each time); ``env=N``: on env ``N`` returned by an
    earlier call of the SAME runner (``ReplSession.command_runner`` pins one process for that). Raises on
    timeout / crash (any exception is a rejection).
    """

    def __call__(self, command: str, env: int | None = None) -> Any: ...


@dataclass(frozen=True)
class VerificationPlan:
    """What is sent to Lean: the declaration, then two commands on its env."""

    name: str
    declaration: str
    statement_check: str
    axioms_query: str


def declaration_name(theorem: Theorem, parts: DeclParts | None = None) -> str:
    """The constant the verification declares: the statement's name (``example`` gets a fresh one)."""
    parts = parts or split_statement(theorem.statement)
    if parts.name:
        return parts.name
    digest = hashlib.sha256(theorem.statement.encode()).hexdigest()[:12]
    return f"verify_example_{digest}"


def _declaration_start(proof: str) -> int | None:
    """Token index of the declaration keyword when ``proof`` is a full declaration (after ``set_option/open …
    in`` prefixes, attributes and modifiers), else None (a tactic script)."""
    toks = code_tokens(proof)
    k = 0
    while k < len(toks) and toks[k].kind == "ident" and toks[k].text in ("set_option", "open"):
        j = k + 1
        while j < len(toks) and not (toks[j].kind == "ident" and toks[j].text == "in"):
            if toks[j].kind == "ident" and toks[j].text in DECL_KEYWORDS:
                return None
            j += 1
        if j >= len(toks):
            return None
        k = j + 1
    j = skip_head(toks, k)
    return k if j < len(toks) and toks[j].kind == "ident" and toks[j].text in DECL_KEYWORDS else None


def declaration_start(proof: str) -> int | None:
    """Token index (``code_tokens``) of the declaration keyword of a full declaration, None for a script."""
    return _declaration_start(proof)


def is_declaration(proof: str) -> bool:
    """Whether ``proof`` is a full declaration (possibly after ``set_option/open … in``), not a script."""
    try:
        return _declaration_start(proof) is not None
    except ValueError:
        return False


def _indent(script: str) -> str:
    """Two spaces before every line; lines are split on ``\\n`` only, as Lean splits them (never
    ``str.splitlines``, which also breaks at U+2028/U+0085 that Lean keeps inside a comment)."""
    return "\n".join("  " + line if line.strip() else line for line in script.split("\n"))


def build_declaration(theorem: Theorem, proof: str) -> tuple[str, str]:
    """``(declaration text, NAME)``: the candidate's own declaration, or ``statement := by <script>``.

    Raises ``ValueError`` when a full declaration declares another name or universes than the theorem.
    """
    stmt = split_statement(theorem.statement)
    if stmt.kind == "instance" and not stmt.name:
        raise ValueError("an anonymous instance has no name to check; name it (instance foo : …)")
    name = declaration_name(theorem, stmt)
    start = _declaration_start(proof)
    if start is None:
        script = proof.strip("\n")
        toks = code_tokens(script)
        if toks and toks[0].text == "by":
            script = script[toks[0].end :].lstrip(" \t").lstrip("\n")
        script = textwrap.dedent(script)
        text = f"{theorem.statement.rstrip()} := by\n{_indent(script)}"
    else:
        text = proof.strip("\n")
        decl_from = code_tokens(text)[start].start
        parts = split_declaration(text[decl_from:])
        if parts.proof is None or not parts.proof.strip():
            raise ValueError("the declaration has no proof after ':='")
        if stmt.kind == "example":
            if parts.kind != "example":
                raise ValueError(f"the statement is an example but the proof declares a {parts.kind}")
        elif parts.name != stmt.name:
            raise ValueError(f"the proof declares '{parts.name or parts.kind}', not '{stmt.name}'")
        if parts.universes != stmt.universes:
            raise ValueError("the proof's universe parameters differ from the statement's")
    if stmt.kind == "example":
        first = next(t for t in code_tokens(text) if t.kind == "ident" and t.text == "example")
        text = f"{text[: first.start]}theorem {name}{text[first.end :]}"
    return text, name


def build_plan(theorem: Theorem, proof: str) -> VerificationPlan:
    """The three REPL commands of a verification (``ValueError`` when they cannot be built)."""
    declaration, name = build_declaration(theorem, proof)
    stmt = split_statement(theorem.statement)
    if "\n" in stmt.type:
        # a multi-line type on its own lines at its original column: Lean's layout rules (a `let` body, an
        # application's arguments on the next line) compare columns, so they must not move
        body = "\n" + " " * stmt.type_column + stmt.type
        closed = f"∀ {stmt.binders},{body}" if stmt.binders else body
    else:
        closed = f"∀ {stmt.binders}, {stmt.type}" if stmt.binders else stmt.type
    if stmt.universes:
        levels = ", ".join(stmt.universes)
        check = f"universe {' '.join(stmt.universes)} in\nexample : {closed} := @{name}.{{{levels}}}"
    else:
        check = f"example : {closed} := @{name}"
    return VerificationPlan(name, declaration, check, f"#print axioms {name}")


def verify_proof(
    theorem: Theorem,
    proof: str,
    *,
    run_command: RunCommand | None = None,
    options: GuardOptions | Mapping[str, Any] | None = None,
) -> Verdict:
    """Verify ``proof`` of ``theorem``: the guard, then (with ``run_command``) Lean. See the module doc."""
    opts = GuardOptions.from_config(options)
    try:
        return _verify(theorem, proof, run_command, opts)
    except Exception as exc:  # never raise: an unexpected failure is a rejection with its reason
        return Verdict(False, (f"verification failed unexpectedly: {type(exc).__name__}: {exc}",), "compile")


def _verify(theorem: Theorem, proof: str, run_command: RunCommand | None, opts: GuardOptions) -> Verdict:
    try:
        reasons = check_proof(theorem, proof, opts)
    except ValueError as exc:
        reasons = [f"cannot check the proof: {exc}"]
    if reasons:
        return Verdict(False, tuple(reasons), "guard")
    try:
        plan = build_plan(theorem, proof)
    except (ValueError, StopIteration) as exc:
        return Verdict(False, (f"cannot build the verification command: {exc}",), "guard")
    # A script is re-indented (and a leading `by` dropped) to sit under the statement: the guard also reads the
    # bytes Lean will receive, not only what was submitted.
    wrapped = f"{theorem.statement.rstrip()} := by\n"
    sent = plan.declaration[len(wrapped) :] if plan.declaration.startswith(wrapped) else proof
    if sent != proof:
        try:
            reasons = check_proof(theorem, sent, opts)
        except ValueError as exc:
            reasons = [f"cannot check the proof as sent: {exc}"]
        if reasons:
            return Verdict(False, tuple(reasons), "guard")
    if run_command is None:
        return Verdict(True, (STATIC_ONLY_NOTE,))
    declared = _ask(run_command, plan.declaration, None)
    if isinstance(declared, str):
        return Verdict(False, (declared,), "compile")
    reasons = compile_reasons(declared)
    if reasons:
        return Verdict(
            False,
            tuple(reasons),
            "compile",
            diagnostics=compile_diagnostics(declared),
            compiled=plan.declaration,
        )
    if declared.env is None:
        return Verdict(False, ("Lean returned no environment for the declaration",), "compile")
    checked = _ask(run_command, plan.statement_check, declared.env)
    if isinstance(checked, str):
        return Verdict(False, (checked,), "statement")
    reasons = statement_reasons(checked)
    if reasons:
        return Verdict(False, tuple(reasons), "statement")
    report = _ask(run_command, plan.axioms_query, declared.env)
    if isinstance(report, str):
        return Verdict(False, (report,), "axioms")
    reasons = axiom_reasons(report, plan.name, plan.axioms_query, opts)
    if reasons:
        return Verdict(False, tuple(reasons), "axioms")
    return Verdict(True)


def _ask(run_command: RunCommand, command: str, env: int | None) -> Response | str:
    """Lean's typed answer, or the reason there is none (timeout, crash, not the protocol)."""
    try:
        raw = run_command(command, env=env)
        return raw if isinstance(raw, Response) else Response.from_json(dict(raw))
    except ProtocolError as exc:
        return f"Lean's answer is not the REPL protocol: {exc}"
    except Exception as exc:  # a timeout or crash of the backend is a rejection, with the reason
        return f"Lean did not answer: {type(exc).__name__}: {exc}"


def compile_reasons(response: Response) -> list[str]:
    """Why the declaration command does not count as a proof: refusal, errors, ``sorry``."""
    if response.message is not None:
        return [f"Lean refused the declaration: {response.message}"]
    reasons = [f"Lean error: {_short(m.render())}" for m in response.messages if m.is_error]
    reasons += [
        f"the proof uses sorry: {_short(m.render())}"
        for m in response.messages
        if m.severity == "warning" and "sorry" in m.data
    ]
    if response.sorries and not any("sorry" in r for r in reasons):
        reasons.append(f"the proof contains {len(response.sorries)} sorry")
    return reasons


def compile_diagnostics(response: Response) -> tuple[LeanDiagnostic, ...]:
    """The declaration's errors with their positions (a message without a position spans its first line), in
    source order: what an error-feedback repair turn marks with ``<error>`` (``search.whole_proof``)."""
    out = []
    for m in response.messages:
        if not m.is_error:
            continue
        line, col = (m.pos.line, m.pos.column) if m.pos else (1, 0)
        end_line, end_col = (m.end_pos.line, m.end_pos.column) if m.end_pos else (line, col)
        out.append(LeanDiagnostic(line, col, end_line, end_col, m.data))
    return tuple(sorted(out, key=lambda d: (d.line, d.column)))


def statement_reasons(response: Response) -> list[str]:
    """Why the statement check failed: the kernel did not accept ``@NAME`` at the original statement."""
    if response.message is not None:
        return [f"Lean refused the statement check: {response.message}"]
    bad = [m for m in response.messages if m.is_error or (m.severity == "warning" and "sorry" in m.data)]
    return [f"the proved statement is not the theorem's statement: {_short(m.data)}" for m in bad]


def axiom_reasons(response: Response, name: str, query: str, options: GuardOptions) -> list[str]:
    """Read the ``#print axioms`` answer: exactly one report, positioned inside the query, allowed axioms."""
    if response.message is not None:
        return [f"Lean refused the axiom query: {response.message}"]
    errors = [m for m in response.messages if m.is_error]
    if errors:
        return [f"the axiom query failed: {_short(errors[0].render())}"]
    reports = [m for m in response.messages if m.severity == "info" and _inside(m, query)]
    parsed = [(m, _AXIOMS_REPORT.fullmatch(m.data.strip())) for m in reports]
    matches = [(m, found) for m, found in parsed if found]
    if len(matches) != 1:
        what = "no axiom report" if not matches else f"{len(matches)} axiom reports"
        return [f"Lean printed {what} for '{name}' inside the '#print axioms' command"]
    found = matches[0][1]
    assert found is not None
    printed = found.group("name")
    if not _same_constant(printed, name):
        return [f"the axiom report is about '{printed}', not '{name}'"]
    axioms = [] if found.group("none") else [a.strip() for a in found.group("list").split(",") if a.strip()]
    extra = [a for a in axioms if a not in options.allowed_axioms]
    if extra:
        return [f"'{name}' depends on axioms beyond {', '.join(options.allowed_axioms)}: {', '.join(extra)}"]
    return []


def _inside(msg: Message, command: str) -> bool:
    """Whether ``msg`` starts (and ends) within ``command``'s text, as the REPL numbers it (line 1-based)."""
    if msg.pos is None:
        return False
    lines = command.split("\n")

    def within(line: int, column: int) -> bool:
        return 1 <= line <= len(lines) and 0 <= column <= len(lines[line - 1])

    end = msg.end_pos or msg.pos
    return within(msg.pos.line, msg.pos.column) and within(end.line, end.column)


def _same_constant(printed: str, name: str) -> bool:
    """``#print axioms t`` inside ``namespace A`` reports ``A.t``; ``_root_.t`` reports ``t``."""
    bare = name.removeprefix("_root_.").replace("«", "").replace("»", "")
    printed = printed.replace("«", "").replace("»", "")
    return printed == bare or printed.endswith("." + bare)


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
