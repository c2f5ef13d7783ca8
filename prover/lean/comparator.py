"""The comparator judge: the Lean FRO's comparator (github.com/leanprover/comparator) decides "proved".

The contract, read from comparator's own source (master @ 19e111e, Lean v4.34.0-rc2; the branch ``pre-v25``
@ 97ef939 for Lean <= v4.24, the project's): ``Main.lean``, ``README.md``, ``runtests.lean``,
``tests/projects/*``:

- it runs in a Lake project whose ``lakefile`` names the two modules as libraries (``runtests.lean`` writes
  ``[[lean_lib]] name = "Solution"`` / ``"Challenge"``) and takes ONE argument, the config path (``main``:
  "Expected config file path as first argument."); ``lake env`` gives it the project's ``LEAN_PATH``;
- ``config.json`` (``structure Config``, ``deriving Lean.FromJson``: unknown keys are ignored):
  ``challenge_module``, ``solution_module``, ``theorem_names``, optional ``definition_names`` (definition holes:
  name, type, universe levels and safety must match, ``tests/projects/def_hole``), ``permitted_axioms``, and
  ``enable_nanoda`` (a required ``Bool`` on ``pre-v25``, optional on master, whose own tests write
  ``"enable_nanoda": false`` as we always do);
- it finds its helpers as ``COMPARATOR_LANDRUN`` / ``COMPARATOR_LEAN4EXPORT`` (master, ``M.run``) or on PATH
  (``pre-v25``: ``cmd := "landrun"``); ``prover.lean.judge.ComparatorJudge`` provides both;
- it builds ``Challenge`` and ``Solution`` with ``lake build`` inside landrun (``safeLakeBuild``: read access to
  ``/``, write access only to the project's ``.lake``), exports both with lean4export, compares every constant
  the statements use (``compareAt``), checks the targets' axioms (``checkAxioms``) and replays the solution's
  export into the kernel in its own process (``runBuiltinKernel``);
- success: exit status 0 and, last, the line ``Your solution is okay!`` (``compareIt``); any failure throws,
  which Lean's runtime reports as ``uncaught exception: …`` with exit status 1.
- a JSON report (``json_output_path``; ``Comparator/Json.lean``: ``{"reports": [{"targetName", "targetKind",
  "failureCategory", "failureMessage"}…], "kernel": {"accepted", "failureMessage"}, "nanoda": …}`` with
  ``failureCategory`` one of ``kind``/``signature``/``dependency``/``axioms``/``notFound`` or null) exists only in
  the unmerged pull request #50 (``refs/pull/50/head`` @ 7dc4553). Released comparators ignore the key and write
  none; then the exit status and the final line decide (``verify.comparator.require_report`` refuses that).

What we trust and why: ``Challenge.lean`` is the dataset's own header and statement (with ``sorry``);
``Solution.lean`` is the header plus the model's declaration with the dataset statement re-attached (the model
cannot restate the theorem; comparator would catch it anyway). A report can only take an acceptance away, never
give one: acceptance needs comparator's own exit status 0 and its final line too, and the report is written
outside ``.lake``, the only place the sandboxed builds may write. Model text builds only inside comparator's
landrun sandbox, itself started through ``prover.lean.sandbox`` where that adds protection (no network, no
``$HOME``). Everything fails closed: a timeout, a crash, garbage or a missing report line rejects.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.lean.errors import LeanError
from prover.lean.guard import GuardOptions, check_proof, check_tactic
from prover.lean.lexer import code_tokens
from prover.lean.source import split_commands
from prover.lean.statement import proof_assign_index, skip_head, split_declaration
from prover.lean.types import Theorem
from prover.lean.verify import build_declaration, declaration_start

SUCCESS_LINE = "Your solution is okay!"
REPORT_NAME = "verification-report.json"
CHALLENGE, SOLUTION = "Challenge", "Solution"
_HOLE_KINDS = frozenset({"def", "abbrev"})
#: comparator's failure categories (``CheckFailure``) as our checks
_CATEGORY_CHECK = {
    "kind": "statement",
    "signature": "statement",
    "dependency": "statement",
    "notFound": "statement",
    "axioms": "axioms",
}


class ComparatorInputError(LeanError, ValueError):
    """The proof cannot be written as a comparator Solution (wrong declarations, no proof)."""


@dataclass(frozen=True)
class ComparatorTask:
    """The three files of one check: what comparator is asked."""

    name: str
    challenge: str
    solution: str
    definition_names: tuple[str, ...]
    #: the model's proof of the theorem itself, as submitted (after the hole definitions, when there are holes)
    proof: str = ""

    def config(self, permitted_axioms: Sequence[str], report_path: Path | None) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "challenge_module": CHALLENGE,
            "solution_module": SOLUTION,
            "theorem_names": [self.name],
            "permitted_axioms": list(permitted_axioms),
            "enable_nanoda": False,
        }
        if self.definition_names:
            cfg["definition_names"] = list(self.definition_names)
        if report_path is not None:
            cfg["json_output_path"] = str(report_path)
        return cfg


def _hole_commands(header: str, holes: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """(preamble, [(hole name or "", command text)…]) of the header; every hole must be declared in it as a
    ``def``/``abbrev`` (with ``sorry``: it is the dataset's)."""
    preamble, commands = split_commands(header)
    pieces = [
        (cmd.name if cmd.name in holes and cmd.keyword in _HOLE_KINDS else "", cmd.text) for cmd in commands
    ]
    missing = [h for h in holes if h not in {name for name, _ in pieces}]
    if missing:
        raise ComparatorInputError(f"the theorem's header declares no definition hole {', '.join(missing)}")
    return preamble, pieces


def _hole_head(trusted: str, name: str) -> str:
    """The dataset's own ``[modifiers] abbrev NAME : T`` of a hole (everything before its ``:=``)."""
    toks = code_tokens(trusted)
    k = proof_assign_index(toks, skip_head(toks))
    if k is None:
        raise ComparatorInputError(f"the header's hole {name} has no ':='")
    return trusted[: toks[k].start].rstrip()


def reattach(theorem: Theorem, proof: str) -> tuple[str, str]:
    """(declaration, NAME): the dataset's statement with the model's proof, never the model's statement.

    A script becomes ``statement := by script``; a full declaration keeps its ``set_option … in`` prefix and
    its proof after ``:=`` but gets the dataset's statement (``build_declaration`` first checks that it
    declares the theorem's own name and universes).
    """
    declaration, name = build_declaration(theorem, proof)
    start = declaration_start(proof)
    if start is None:
        return declaration, name
    text = proof.strip("\n")
    decl_from = code_tokens(text)[start].start
    parts = split_declaration(text[decl_from:])
    assert parts.proof is not None  # build_declaration refused a declaration without one
    statement, _ = build_declaration(theorem, "sorry")
    head = statement[: statement.rindex(":= by")].rstrip()
    return f"{text[:decl_from]}{head} :={parts.proof}", name


def build_task(
    theorem: Theorem, proof: str, definition_names: Sequence[str], options: GuardOptions
) -> ComparatorTask | list[str]:
    """The comparator files for ``proof``, or the pre-filter's reasons to refuse it before any build.

    With ``definition_names`` (FPS answers, PutnamBench ``…_solution``) the theorem's header holds each hole
    with ``sorry`` (trusted), and ``proof`` is Lean text with exactly one ``def``/``abbrev`` per hole followed by
    the theorem's full declaration; nothing else may be declared. As for the theorem, only the model's VALUE is
    kept: it is re-attached to the dataset's own head of the hole (``abbrev NAME : T``), in the hole's place in
    the header, so the model's head (attributes, modifiers, a type with a ``by`` block in it) is never built.
    """
    holes = tuple(dict.fromkeys(definition_names))
    theorem_part = proof
    solution_header = theorem.header
    if holes:
        header_preamble, header_pieces = _hole_commands(theorem.header, holes)
        preamble, commands = split_commands(proof)
        if preamble.strip():
            raise ComparatorInputError("the solution must start with the hole definitions")
        filled: dict[str, str] = {}
        rest: list[str] = []
        for cmd in commands:
            if cmd.keyword in _HOLE_KINDS and cmd.name in holes and cmd.name not in filled and not rest:
                filled[cmd.name] = cmd.text
            else:
                rest.append(cmd.text)
        missing = [h for h in holes if h not in filled]
        if missing:
            raise ComparatorInputError(f"the solution does not define {', '.join(missing)}")
        values: dict[str, str] = {}
        for name in holes:
            body = split_declaration(filled[name]).proof
            if body is None or not body.strip():
                return [f"the definition of {name} has no value after ':='"]
            refused = check_tactic(body, options)
            if refused:
                return [f"{name}: {r}" for r in refused]
            values[name] = body.rstrip()
        theorem_part = "".join(rest)
        if not theorem_part.strip():
            raise ComparatorInputError(
                "the solution has no declaration of the theorem after the definitions "
                f"(write the hole definitions, then `{theorem.statement.strip()[:40]}… := …`)"
            )
        solution_header = header_preamble + "".join(
            f"{_hole_head(text, hole)} :={values[hole]}\n\n" if hole else text for hole, text in header_pieces
        )
    refused = check_proof(theorem, theorem_part, options)
    if refused:
        return list(refused)
    declaration, name = reattach(theorem, theorem_part)
    challenge_decl, _ = build_declaration(theorem, "sorry")
    challenge = f"{theorem.header.rstrip()}\n\n{challenge_decl}\n"
    solution = f"{solution_header.rstrip()}\n\n{declaration}\n"
    return ComparatorTask(name, challenge, solution, holes, theorem_part)


def lakefile_for(project: Path) -> str:
    """The workspace's ``lakefile.toml``: the two libraries (as comparator's ``runtests.lean`` writes them),
    the project's own already-built packages (``packagesDir``) and its Mathlib requirement, so nothing is fetched
    or rebuilt outside the workspace's ``.lake``."""
    lines = [
        'name = "judge"',
        'version = "0.1.0"',
        f'packagesDir = "{(project / ".lake" / "packages").as_posix()}"',
    ]
    manifest = project / "lake-manifest.json"
    try:
        packages = json.loads(manifest.read_text(encoding="utf-8")).get("packages", [])
    except (OSError, ValueError, AttributeError):
        packages = []
    for pkg in packages:
        if (
            isinstance(pkg, dict)
            and not pkg.get("inherited")
            and pkg.get("type") == "git"
            and pkg.get("name")
        ):
            lines += ["", "[[require]]", f'name = "{pkg["name"]}"', f'git = "{pkg.get("url", "")}"']
            rev = pkg.get("inputRev") or pkg.get("rev")
            if rev:
                lines.append(f'rev = "{rev}"')
    for lib in (SOLUTION, CHALLENGE):
        lines += ["", "[[lean_lib]]", f'name = "{lib}"']
    return "\n".join(lines) + "\n"


def write_workspace(
    root: Path, task: ComparatorTask, permitted_axioms: Sequence[str], project: Path
) -> tuple[Path, Path]:
    """Write the check's files under ``root``; returns (config path, report path). The report lies outside
    ``.lake``, the only directory comparator's sandboxed builds may write."""
    (root / f"{CHALLENGE}.lean").write_text(task.challenge, encoding="utf-8")
    (root / f"{SOLUTION}.lean").write_text(task.solution, encoding="utf-8")
    (root / "lakefile.toml").write_text(lakefile_for(project), encoding="utf-8")
    toolchain = project / "lean-toolchain"
    if toolchain.is_file():  # elan picks the project's Lean for `lake env`/`lake build` in the workspace
        shutil.copyfile(toolchain, root / "lean-toolchain")
    manifest = project / "lake-manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data["packagesDir"] = (project / ".lake" / "packages").as_posix()
            data["name"] = "judge"
            data["packages"] = [
                {**p, "inherited": True} if isinstance(p, dict) else p for p in data.get("packages", [])
            ]
        (root / "lake-manifest.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    report = root / "report" / REPORT_NAME
    report.parent.mkdir()
    config = root / "config.json"
    config.write_text(json.dumps(task.config(permitted_axioms, report), indent=1), encoding="utf-8")
    return config, report


@dataclass(frozen=True)
class ComparatorOutcome:
    """What one comparator run left: exit status (None: killed at the deadline), stdout, the report text."""

    returncode: int | None
    stdout: str
    report: str | None


def read_outcome(
    outcome: ComparatorOutcome, task: ComparatorTask, *, require_report: bool, timeout_s: float
) -> tuple[bool, tuple[str, ...], str]:
    """(accepted, reasons, check) from comparator's exit status, its last line and its JSON report.

    Accepted only when ALL agree: exit status 0, the final line is the success line, and the report (when
    there is one, or when ``require_report``) lists every target exactly once without a failure and says the
    kernel accepted. Anything else, including a report that cannot be read, rejects.
    """
    if outcome.returncode is None:
        return False, (f"comparator gave no verdict within {timeout_s:g} s",), "judge"
    report_reasons: list[str] = []
    report_check = ""
    if outcome.report is None:
        if require_report:
            report_reasons.append("comparator wrote no JSON report (verify.comparator.require_report is set)")
            report_check = "judge"
    else:
        report_check, report_reasons = _report_reasons(outcome.report, task)
    lines = [ln.strip() for ln in outcome.stdout.splitlines() if ln.strip()]
    if outcome.returncode != 0:
        tail = _failure_tail(lines)
        reasons = report_reasons or [
            f"comparator rejected the solution (exit status {outcome.returncode}): {tail}"
        ]
        return False, tuple(reasons), report_check or _check_from_text(tail)
    if not lines or lines[-1] != SUCCESS_LINE:
        last = lines[-1][:200] if lines else "no output"
        return False, (f"comparator exited 0 without its success line (last line: {last!r})",), "judge"
    if report_reasons:
        return False, tuple(report_reasons), report_check or "judge"
    return True, (), ""


def _report_reasons(text: str, task: ComparatorTask) -> tuple[str, list[str]]:
    """(check, reasons) from the JSON report; no reasons: every target passed and the kernel accepted."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return "judge", [f"comparator's report is not JSON: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("reports"), list):
        return "judge", ["comparator's report has no 'reports' list"]
    targets = [(task.name, "theorem"), *((d, "definition") for d in task.definition_names)]
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for entry in data["reports"]:
        if isinstance(entry, dict) and isinstance(entry.get("targetName"), str):
            by_name.setdefault(entry["targetName"], []).append(entry)
    for name, kind in targets:
        entries = by_name.get(name, [])
        if len(entries) != 1:
            return "judge", [f"comparator's report has {len(entries)} entries for {kind} '{name}', not one"]
        entry = entries[0]
        category = entry.get("failureCategory")
        if category is not None:
            label = (
                category
                if isinstance(category, str)
                else next(iter(category), "?")
                if isinstance(category, dict)
                else "?"
            )
            message = entry.get("failureMessage") or label
            return _CATEGORY_CHECK.get(str(label), "judge"), [f"comparator: {kind} '{name}': {message}"]
        if entry.get("targetKind") != kind:
            return "statement", [
                f"comparator's report says '{name}' is a {entry.get('targetKind')}, not a {kind}"
            ]
    kernel = data.get("kernel")
    if not isinstance(kernel, dict) or kernel.get("accepted") is not True:
        why = kernel.get("failureMessage") if isinstance(kernel, dict) else None
        return "compile", [
            f"the kernel did not accept the solution: {why or 'no kernel verdict in the report'}"
        ]
    nanoda = data.get("nanoda")
    if isinstance(nanoda, dict) and nanoda.get("accepted") is False:
        return "compile", [f"nanoda rejected the solution: {nanoda.get('failureMessage')}"]
    return "", []


def _failure_tail(lines: Sequence[str]) -> str:
    """comparator's own complaint: its ``uncaught exception`` line, else the last lines."""
    errors = [line for line in lines if line.startswith("error:")][:2]  # Lean's, from the sandboxed build
    for line in reversed(lines):
        if line.startswith("uncaught exception:"):
            return " | ".join([line[len("uncaught exception:") :].strip(), *errors])[:400]
    return " | ".join(lines[-3:])[:400] or "no output"


def _check_from_text(text: str) -> str:
    lowered = text.lower()
    if "axiom" in lowered:
        return "axioms"
    if "match" in lowered or "not found" in lowered:
        return "statement"
    return "compile"
