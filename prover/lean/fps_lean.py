"""The FPS answer extraction: a trusted, read-only metaprogram of ours, and the reader of its one message.

After a solution compiled as ``theorem NAME : ∀ <intros>, ∃ (answer : T), … := by <prelude> <solution>``, the
answer is the witness of the ``Exists.intro`` that NAME's proof term, applied to the intros, reduces to (looking
through metadata, ``id``, ``let``/``have`` and compiler-made auxiliary lemmas).
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


#: The metaprogram, every Lean name fully qualified: no ``open Lean …`` is in scope when the printed answer is
#: re-elaborated, so only the problem's own ``open`` lines can make a name resolve differently.
#: ``@NAME@`` / ``@BINDERS@`` / ``@MARKER@`` are filled in by :func:`extraction_command`.
_METAPROGRAM = """run_cmd Lean.Elab.Command.liftTermElabM do
  let some info := (← Lean.getEnv).find? `@NAME@ | throwError "@MARKER@: no declaration @NAME@"
  let .thmInfo thm := info | throwError "@MARKER@: @NAME@ is not a theorem"
  let value := thm.value
  let value ← Lean.instantiateMVars value
  Lean.Meta.forallBoundedTelescope info.type (some @BINDERS@) fun xs _ => do
    let mut body := (Lean.mkAppN value xs).headBeta
    for _ in [0:64] do
      body := body.consumeMData.headBeta
      if body.isAppOfArity `Exists.intro 4 then
        break
      if let .letE _ _ v b _ := body then
        body := b.instantiate1 v
        continue
      let head := body.getAppFn
      let args := body.getAppArgs
      if head.isConstOf `id && Decidable.decide (2 ≤ args.size) then
        body := Lean.mkAppN (args[1]!) (args.extract 2 args.size)
        continue
      if head.isConstOf `letFun && Decidable.decide (4 ≤ args.size) then
        body := Lean.mkAppN ((args[3]!).beta #[args[2]!]) (args.extract 4 args.size)
        continue
      let .const c us := head | break
      unless c.isInternal do
        break
      let some (.thmInfo aux) := (← Lean.getEnv).find? c | break
      body := (aux.value.instantiateLevelParams aux.levelParams us).beta args
    unless body.isAppOfArity `Exists.intro 4 do
      throwError "@MARKER@: the proof is not an Exists.intro under @BINDERS@ binders"
    let ty := body.getArg! 0
    let w := body.getArg! 2
    let mut names : Array Lean.Json := #[]
    for x in xs do
      if w.containsFVar x.fvarId! then
        names := names.push (Lean.ToJson.toJson (← x.fvarId!.getUserName).toString)
    let text := ToString.toString (← Lean.Meta.ppExpr w)
    let check : Lean.Json ← Lean.withoutModifyingState do
      match Lean.Parser.runParserCategory (← Lean.getEnv) `term text with
      | .error err => pure (Lean.ToJson.toJson ("parse error: " ++ err))
      | .ok stx =>
        try
          let e ← Lean.Elab.Term.withoutErrToSorry do
            let e ← Lean.Elab.Term.elabTermEnsuringType stx (some ty)
            Lean.Elab.Term.synthesizeSyntheticMVarsNoPostponing
            Lean.instantiateMVars e
          if (← Lean.Meta.isDefEq e w) then
            pure Lean.Json.null
          else
            pure (Lean.ToJson.toJson "re-parsed to a different term")
        catch ex =>
          let why ← ex.toMessageData.toString
          pure (Lean.ToJson.toJson ("re-elaboration failed: " ++ why))
    let report := Lean.Json.compress (Lean.Json.mkObj
      [("answer", Lean.ToJson.toJson text), ("intros", Lean.Json.arr names), ("reparse_error", check)])
    let line := "@MARKER@ " ++ report
    Lean.logInfo m!"{line}"
"""


def extraction_command(declaration: str, binders: int, opens: str = "") -> str:
    """The metaprogram for ``declaration``'s answer after its first ``binders`` quantifiers (the intros, plus
    ``answer`` for D-FPS, whose submission is the witness after it). ``opens``: the problem's ``open …`` header
    lines, re-applied (``open … in``) so that the printed answer re-elaborates in the scope it was written for.

    The proof term is read from the ``thmInfo`` itself: ``ConstantInfo.value?`` returns a theorem's value only
    with ``allowOpaque := true`` in recent Lean (src/Lean/Declaration.lean), an argument older versions lack.
    The quantifiers are opened on the statement's TYPE and the value applied to them, so the answer speaks of
    the statement's binder names whatever a whole proof named its intros, and an eta-reduced value or one that
    is an auxiliary lemma (``grind``/``decide``-style ``_proof_N``) still reaches its ``Exists.intro``; ``id``
    (``show``/``change``), ``let``/``have`` and metadata around it are looked through. The re-parse runs
    without error recovery and in ``withoutModifyingState``, so its failure is reported in the JSON, never as
    an error message of the command."""
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
    body = _METAPROGRAM.replace("@NAME@", declaration).replace("@BINDERS@", str(binders))
    return options + scoped + body.replace("@MARKER@", MARKER)


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


_UNKNOWN = re.compile(r"unknown (?:identifier|constant|namespace) '([^'\n]+)'")


def unknown_names(errors: list[str] | tuple[str, ...] | str) -> list[str]:
    """The names Lean's errors call unknown (``unknown identifier 'instNatAtLeastTwo'``, ``unknown constant
    …``), in order, once each: why a ground truth written for another Mathlib does not elaborate here."""
    text = errors if isinstance(errors, str) else "\n".join(errors)
    out: list[str] = []
    for name in _UNKNOWN.findall(text):
        if name not in out:
            out.append(name)
    return out
