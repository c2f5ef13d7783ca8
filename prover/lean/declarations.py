"""List the declarations of a Lean environment through the REPL, for building a premise corpus.

This is a trusted command written by us (model text never reaches it): a ``run_cmd`` metaprogram that walks
``(← getEnv).constants`` and prints, in ONE info message, a header line ``PREMISE-LISTING v1 <n> <m>``, then
``n`` JSON lines (one per declaration: name, module, kind, type, range) and ``m`` JSON lines (one per module:
its direct imports). The counts let the parser detect a truncated message. Only this module knows that format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prover.lean.errors import LeanError
from prover.lean.protocol import Response

MARKER = "PREMISE-LISTING v1"
CommandRunner = Callable[[str], Response]


class DeclarationListingError(LeanError, RuntimeError):
    """Lean refused the listing command, or its answer is not what the command prints."""


@dataclass(frozen=True)
class Declaration:
    """One constant of the environment. Positions are 1-based lines, 0-based columns (Lean's ``Position``)."""

    name: str
    module: str
    kind: str
    type: str = ""
    start: tuple[int, int] = (0, 0)
    end: tuple[int, int] = (0, 0)


@dataclass
class DeclarationListing:
    declarations: list[Declaration] = field(default_factory=list)
    #: module -> modules it imports directly
    module_imports: dict[str, list[str]] = field(default_factory=dict)


def _lean_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lean string literal for these characters


def listing_command(module_prefixes: Sequence[str] = ("Mathlib",), with_types: bool = True) -> str:
    """The Lean command. ``module_prefixes`` restricts to declarations from those module trees (empty: all).

    Internal names (``_private``, auxiliary ``match_``/``proof_`` lemmas) are skipped as LeanDojo skips
    them; pretty-printing types dominates the cost on Mathlib, hence ``with_types``.
    """
    for p in module_prefixes:
        if not p or any(not (c.isalnum() or c in "._'") for c in p):
            raise ValueError(f"not a module name prefix: {p!r}")
    prefixes = ", ".join(f"`{p}" if "'" not in p else f"({_lean_string(p)}).toName" for p in module_prefixes)
    types = "true" if with_types else "false"
    return f"""open Lean Elab Command Meta in
run_cmd do
  let env ← getEnv
  let prefixes : List Name := [{prefixes}]
  let wanted (m : Name) : Bool := prefixes.isEmpty || prefixes.any (fun p => p.isPrefixOf m)
  let mut decls : Array String := #[]
  for (name, info) in env.constants.map₁.toList do
    if name.isInternalDetail then continue
    let some idx := env.getModuleIdxFor? name | continue
    let mod := env.header.moduleNames[idx.toNat]!
    unless wanted mod do continue
    let kind := match info with
      | .thmInfo _ => "theorem" | .defnInfo _ => "def" | .axiomInfo _ => "axiom"
      | .opaqueInfo _ => "opaque" | .inductInfo _ => "inductive" | .ctorInfo _ => "constructor"
      | .recInfo _ => "recursor" | .quotInfo _ => "quot"
    let ty ← if {types} then (do return toString (← liftTermElabM (ppExpr info.type))) else pure ""
    let range ← match (← findDeclarationRanges? name) with
      | some r => pure (Json.arr #[toJson r.range.pos.line, toJson r.range.pos.column,
                                   toJson r.range.endPos.line, toJson r.range.endPos.column])
      | none => pure Json.null
    decls := decls.push (Json.compress (Json.mkObj [("name", toJson name.toString), ("module", toJson mod.toString),
      ("kind", toJson kind), ("type", toJson ty), ("range", range)]))
  let mut mods : Array String := #[]
  for i in [0:env.header.moduleNames.size] do
    let m := env.header.moduleNames[i]!
    let imports := env.header.moduleData[i]!.imports.map (fun imp => toJson imp.module.toString)
    mods := mods.push (Json.compress (Json.mkObj [("module", toJson m.toString), ("imports", Json.arr imports)]))
  logInfo m!"{MARKER} {{decls.size}} {{mods.size}}\\n{{String.intercalate "\\n" (decls ++ mods).toList}}"
"""


def parse_listing(response: Response) -> DeclarationListing:
    """Read the answer of :func:`listing_command`; raise with Lean's errors or on a malformed/truncated answer."""
    if not response.ok:
        raise DeclarationListingError("Lean rejected the listing command: " + "; ".join(response.errors))
    bodies = [m.data for m in response.messages if m.severity == "info" and m.data.startswith(MARKER)]
    if len(bodies) != 1:
        raise DeclarationListingError(f"expected one '{MARKER}' info message, found {len(bodies)}")
    header, _, rest = bodies[0].partition("\n")
    try:
        n_decls, n_mods = (int(x) for x in header[len(MARKER) :].split())
    except ValueError as exc:
        raise DeclarationListingError(f"bad listing header: {header!r}") from exc
    lines = [line for line in rest.split("\n") if line.strip()]
    if len(lines) != n_decls + n_mods:
        raise DeclarationListingError(
            f"listing announced {n_decls + n_mods} lines but has {len(lines)} (truncated?)"
        )
    listing = DeclarationListing()
    for number, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DeclarationListingError(f"listing line {number} is not JSON: {exc.msg}") from exc
        if number <= n_decls:
            listing.declarations.append(_declaration(obj, number))
        else:
            module, imports = obj.get("module"), obj.get("imports")
            if not isinstance(module, str) or not isinstance(imports, list):
                raise DeclarationListingError(f"listing line {number}: bad module record")
            listing.module_imports[module] = [str(i) for i in imports]
    return listing


def _declaration(obj: object, number: int) -> Declaration:
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("name"), str)
        or not isinstance(obj.get("module"), str)
    ):
        raise DeclarationListingError(f"listing line {number}: bad declaration record")
    rng = obj.get("range")
    start, end = (0, 0), (0, 0)
    if isinstance(rng, list) and len(rng) == 4 and all(isinstance(v, int) for v in rng):
        start, end = (rng[0], rng[1]), (rng[2], rng[3])
    return Declaration(
        name=obj["name"],
        module=obj["module"],
        kind=str(obj.get("kind", "")),
        type=str(obj.get("type", "")),
        start=start,
        end=end,
    )


def list_declarations(
    run_command: CommandRunner, module_prefixes: Sequence[str] = ("Mathlib",), with_types: bool = True
) -> DeclarationListing:
    """Run the listing through a command runner, e.g. ``ReplSession.command_runner("import Mathlib")``."""
    return parse_listing(run_command(listing_command(module_prefixes, with_types)))
