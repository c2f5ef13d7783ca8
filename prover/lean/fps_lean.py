"""The FPS answer extraction: a trusted, read-only metaprogram of ours, and the reader of its one message.

After a solution compiled as ``theorem NAME : ∀ <intros>, ∃ (answer : T), … := by <prelude> <solution>``, the
answer is the witness of the ``Exists.intro`` under the intros' lambdas of NAME's (instantiated) proof term.
The metaprogram runs as a separate command on that declaration's env (model text never runs code; the guard
still refuses metaprogramming in tactics), prints the witness with options that make it re-parse (full names,
binder types, numeric types), re-parses and re-elaborates the printed text at the answer's type in the intros'
context, and reports, as one JSON info message: the text, the intros it mentions, and whether it re-parsed to
a definitionally equal term. Only this module reads that message (nothing outside ``prover/lean`` parses Lean
output); it accepts exactly one marked info message that lies inside the command's own text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from prover.lean.errors import LeanError
from prover.lean.protocol import Response

MARKER = "FPS_EXTRACT"
#: Pretty-printer options under which a term prints so that it parses back (the reference's choice, plus
#: numeric types so that literals keep their type, and no line-width surprises).
PP_OPTIONS = (
    ("pp.fullNames", "true"),
    ("pp.funBinderTypes", "true"),
    ("pp.piBinderTypes", "true"),
    ("pp.numericTypes", "true"),
    ("pp.structureInstances", "false"),
    ("pp.fieldNotation.generalized", "false"),
    ("pp.safeShadowing", "false"),
    ("pp.proofs", "true"),
    ("pp.deepTerms", "true"),
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_'.]*$")


class ExtractionError(LeanError, ValueError):
    """The extraction did not produce an answer (Lean's errors, or no/ambiguous report)."""


@dataclass(frozen=True)
class Extraction:
    """The answer as Lean printed it, the intros it mentions, and whether the printed text re-parsed."""

    answer: str
    intros: tuple[str, ...] = ()
    reparsed: bool = False
    reparse_error: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def extraction_command(declaration: str, binders: int, opens: str = "") -> str:
    """The metaprogram for ``declaration``'s answer under ``binders`` leading lambdas (intros, plus ``answer``
    for D-FPS, whose submission is the witness after it). ``opens``: the problem's ``open …`` header lines,
    re-applied (``open … in``) so that the printed answer re-elaborates in the scope it was written for."""
    if not _NAME.match(declaration) or binders < 0:
        raise ValueError(f"not a declaration name: {declaration!r}")
    scoped = ""
    for line in opens.split("\n"):
        words = line.split()
        if not words:
            continue
        if words[0] != "open" or len(words) < 2 or not all(_NAME.match(w) for w in words[1:]):
            raise ValueError(f"only plain `open A B …` lines can scope the extraction, got {line!r}")
        scoped += f"{' '.join(words)} in\n"
    options = "".join(f"set_option {k} {v} in\n" for k, v in PP_OPTIONS)
    return f"""{options}{scoped}open Lean Elab Command Meta Term in
run_cmd liftTermElabM do
  let some info := (← getEnv).find? `{declaration} | throwError "{MARKER}: no declaration {declaration}"
  let some value := info.value? | throwError "{MARKER}: {declaration} has no value"
  let value ← instantiateMVars value
  lambdaBoundedTelescope value {binders} fun xs body => do
    let body := body.consumeMData
    unless body.isAppOfArity `Exists.intro 4 do
      throwError "{MARKER}: the proof is not an Exists.intro under {binders} binders"
    let w := body.getArg! 2
    let ty ← inferType w
    let used ← xs.filterM fun x => return w.containsFVar x.fvarId!
    let names ← used.mapM fun x => do return toJson (← x.fvarId!.getUserName).toString
    let text := toString (← ppExpr w)
    let reparse : TermElabM Json := do
      match Parser.runParserCategory (← getEnv) `term text with
      | .error e => pure (toJson s!"parse error: {{e}}")
      | .ok stx =>
        try
          let e ← elabTermEnsuringType stx (some ty)
          synthesizeSyntheticMVarsNoPostponing
          let e ← instantiateMVars e
          if (← isDefEq e w) then pure Json.null else pure (toJson "re-parsed to a different term")
        catch err => pure (toJson s!"re-elaboration failed: {{← err.toMessageData.toString}}")
    let check ← reparse
    logInfo m!"{MARKER} {{Json.compress (Json.mkObj [("answer", toJson text), ("intros", Json.arr names),
      ("reparse_error", check)])}}"
"""


def parse_extraction(response: Response, command: str) -> Extraction:
    """Read the answer of :func:`extraction_command`; raise :class:`ExtractionError` naming what went wrong.

    Only an info message starting with the marker and lying inside ``command``'s own text counts (the
    command is sent alone, on the declaration's env, so the solution's messages are not in this answer).
    """
    if not response.ok:
        raise ExtractionError("the extraction failed: " + "; ".join(response.errors)[:500])
    lines = command.count("\n") + 1
    found = [
        m.data
        for m in response.messages
        if m.severity == "info"
        and m.data.startswith(MARKER + " ")
        and (m.pos is None or 1 <= m.pos.line <= lines)
    ]
    if len(found) != 1:
        raise ExtractionError(f"expected one '{MARKER}' report, found {len(found)}")
    try:
        obj = json.loads(found[0][len(MARKER) + 1 :])
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"malformed '{MARKER}' report: {exc.msg}") from None
    answer = obj.get("answer") if isinstance(obj, dict) else None
    intros = obj.get("intros", []) if isinstance(obj, dict) else None
    error = obj.get("reparse_error") if isinstance(obj, dict) else None
    if not isinstance(answer, str) or not answer.strip() or not isinstance(intros, list):
        raise ExtractionError(f"malformed '{MARKER}' report: no answer")
    if error is not None and not isinstance(error, str):
        raise ExtractionError(f"malformed '{MARKER}' report: reparse_error")
    return Extraction(
        answer=answer.strip(),
        intros=tuple(str(n) for n in intros),
        reparsed=error is None,
        reparse_error=error or "",
    )


def extraction_report(
    answer: str, intros: list[str] | tuple[str, ...] = (), reparse_error: str | None = None
) -> str:
    """The info message :func:`extraction_command` prints, for scripted worlds and tests."""
    return f"{MARKER} " + json.dumps(
        {"answer": answer, "intros": list(intros), "reparse_error": reparse_error}, ensure_ascii=False
    )
