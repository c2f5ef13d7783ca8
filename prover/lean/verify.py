"""Whole-proof verification: the only check whose "yes" counts as a proved theorem.

Order matters: the static guard first (cheap, and it keeps cheating text away from Lean), then ONE Lean
command elaborated in a fresh environment on top of the theorem's header::

    <the declaration with the candidate proof>

    example : ∀ <binders of the ORIGINAL statement>, <its type> := @NAME

    #print axioms NAME

Accepted only when that command has no error, no ``sorry`` (neither a warning nor a ``sorries`` entry), the
``example`` type-checks, and the axioms are a subset of ``allowed_axioms`` (propext, Classical.choice,
Quot.sound by default).

Why the ``example``: the guard already requires the statement text to be the original one, but text is not
meaning. The ``example`` re-elaborates the original statement, as a closed ``∀`` type, in the same environment
and asks the kernel to accept ``@NAME`` as its proof. If it does, the original statement is proved, whatever
the candidate declaration elaborated to (definitionally equal propositions are the same to the kernel), so
no elaboration trick in the candidate's text can change what is being certified.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from prover.lean.guard import GuardOptions, check_proof
from prover.lean.lexer import DECL_KEYWORDS, code_tokens, split_statement, statement_as_type
from prover.lean.protocol import Message, ProtocolError, Response
from prover.lean.types import Theorem, Verdict

#: ``run_command(command) -> Response | dict``: elaborate one command in a fresh env on the theorem's header.
RunCommand = Callable[[str], Any]

_AXIOMS_LIST = re.compile(r"depends on axioms:\s*\[(?P<list>[^\]]*)\]", re.DOTALL)
_NO_AXIOMS = "does not depend on any axioms"
STATIC_ONLY_NOTE = "static checks only: Lean did not check this proof"


def is_declaration(proof: str) -> bool:
    """Whether ``proof`` is a full declaration (or ``set_option .. in`` + one) rather than a tactic script."""
    try:
        toks = code_tokens(proof)
    except ValueError:
        return False
    return bool(toks) and (toks[0].text in DECL_KEYWORDS or toks[0].text in ("set_option", "@["))


def declaration_name(theorem: Theorem) -> str:
    """The constant the verification command declares: the statement's name (``example`` gets a fresh one)."""
    parts = split_statement(theorem.statement)
    if parts.name:
        return parts.name
    digest = hashlib.sha256(theorem.statement.encode()).hexdigest()[:12]
    return f"verify_example_{digest}"


def build_declaration(theorem: Theorem, proof: str) -> str:
    """The full declaration to compile: the candidate's own, or ``statement := by <script>``."""
    if is_declaration(proof):
        text = proof.strip("\n")
    else:
        script = proof.strip("\n")
        toks = code_tokens(script)
        if toks and toks[0].text == "by":
            script = script[toks[0].end :].lstrip(" ").lstrip("\n")
        text = theorem.with_proof(textwrap.dedent(script))
    if split_statement(theorem.statement).kind == "example":
        first = next(t for t in code_tokens(text) if t.text == "example")
        text = f"{text[: first.start]}theorem {declaration_name(theorem)}{text[first.end :]}"
    return text


def build_check_command(theorem: Theorem, proof: str) -> tuple[str, int]:
    """The one command Lean elaborates, and the (1-based) line of its statement check."""
    name = declaration_name(theorem)
    declaration = build_declaration(theorem, proof)
    check_line = declaration.count("\n") + 3
    command = f"{declaration}\n\nexample : {statement_as_type(theorem.statement)} := @{name}\n\n#print axioms {name}"
    return command, check_line


def verify_proof(
    theorem: Theorem,
    proof: str,
    *,
    run_command: RunCommand | None = None,
    options: GuardOptions | Mapping[str, Any] | None = None,
) -> Verdict:
    """Verify ``proof`` of ``theorem``: static guard, then (with ``run_command``) Lean. Never raises."""
    opts = GuardOptions.from_config(options)
    try:
        reasons = check_proof(theorem, proof, opts)
    except ValueError as exc:
        reasons = [f"cannot check the proof: {exc}"]
    if reasons:
        return Verdict(False, tuple(reasons))
    if run_command is None:
        return Verdict(True, (STATIC_ONLY_NOTE,))
    try:
        command, check_line = build_check_command(theorem, proof)
    except (ValueError, StopIteration) as exc:
        return Verdict(False, (f"cannot build the verification command: {exc}",))
    try:
        raw = run_command(command)
        response = raw if isinstance(raw, Response) else Response.from_json(dict(raw))
    except ProtocolError as exc:
        return Verdict(False, (f"Lean's answer is not the REPL protocol: {exc}",))
    except Exception as exc:  # a timeout or crash of the backend is a rejection, with the reason
        return Verdict(False, (f"Lean did not answer: {type(exc).__name__}: {exc}",))
    return judge_response(response, declaration_name(theorem), check_line, opts)


def judge_response(response: Response, name: str, check_line: int, options: GuardOptions) -> Verdict:
    """Apply the acceptance rules to Lean's answer to the verification command."""
    if response.message is not None:
        return Verdict(False, (f"Lean refused the command: {response.message}",))
    reasons: list[str] = []
    for msg in response.messages:
        if msg.is_error:
            if msg.pos is not None and msg.pos.line == check_line:
                reasons.append(f"the proved statement is not the theorem's statement: {_short(msg.data)}")
            else:
                reasons.append(f"Lean error: {_short(msg.render())}")
        elif "sorry" in msg.data and msg.severity == "warning":
            reasons.append(f"the proof uses sorry: {_short(msg.render())}")
    if response.sorries and not any("sorry" in r for r in reasons):
        reasons.append(f"the proof contains {len(response.sorries)} sorry")
    axioms = _reported_axioms(response.messages)
    if axioms is None:
        if not reasons:
            reasons.append(f"Lean printed no axiom report for '{name}'")
    else:
        extra = [a for a in axioms if a not in options.allowed_axioms]
        if extra:
            reasons.append(
                f"'{name}' depends on axioms beyond {', '.join(options.allowed_axioms)}: {', '.join(extra)}"
            )
    return Verdict(not reasons, tuple(reasons))


def _reported_axioms(messages: tuple[Message, ...]) -> list[str] | None:
    for msg in messages:
        if msg.severity != "info":
            continue
        if _NO_AXIOMS in msg.data:
            return []
        if m := _AXIOMS_LIST.search(msg.data):
            return [a.strip() for a in m.group("list").split(",") if a.strip()]
    return None


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
