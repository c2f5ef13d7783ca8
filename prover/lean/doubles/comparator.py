"""A stand-in for the ``comparator`` executable over a scripted world: comparator's CLI, config and report.

``python -m prover.lean.doubles.comparator --world WORLD.json [--fault F] CONFIG.json``, run in the project
directory as the real one is (``lake env comparator config.json``): it reads the config as comparator's
``structure Config`` does (``Main.lean``; a missing required key is an ``uncaught exception``), "builds"
``Challenge`` and ``Solution`` (each ``<module>.lean``) by elaborating their commands on a ``WorldServer``
(``prover.lean.doubles.server``; ``def``/``abbrev`` holes are recorded as written), prints the progress lines
comparator prints, compares every theorem target's statement and kind and every definition hole's type
(``Comparator/Compare.lean``), checks the targets' axioms against ``permitted_axioms`` (``Axioms.lean``), writes
the JSON report when ``json_output_path`` is set (``Comparator/Json.lean`` of comparator's pull request #50), and ends
with ``Your solution is okay!`` and exit status 0 -- or ``uncaught exception: …`` on stderr and exit status 1.

A simulation, not Lean: "kernel acceptance" is the world's replay of the proof. ``--fault`` makes it misbehave
as a broken or compromised install could, for the judge's fail-closed tests: ``hang``, ``crash`` (killed by a
signal mid-build), ``garbage-report``, ``drop-target`` (report without the theorem), ``no-success-line``
(exit 0, no final line), ``lie`` (exit 0 and the success line whatever the checks found), ``silent``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.lean.doubles.server import WorldServer
from prover.lean.doubles.world import World, WorldError, normalise_tactic
from prover.lean.errors import LeanError
from prover.lean.source import SourceError, split_commands
from prover.lean.statement import split_declaration, statement_as_type

FAULTS = ("hang", "crash", "garbage-report", "drop-target", "no-success-line", "lie", "silent")
_REQUIRED = ("challenge_module", "solution_module", "theorem_names", "permitted_axioms", "enable_nanoda")


class Uncaught(LeanError):
    """What comparator's ``main`` throws: printed as ``uncaught exception: …``, exit status 1."""


@dataclass
class Constant:
    """One exported constant: its kind, its type as text, and whether its value used ``sorry``/errors."""

    kind: str
    type: str
    tainted: bool = False
    axioms: tuple[str, ...] = ()


@dataclass
class Export:
    constants: dict[str, Constant] = field(default_factory=dict)


def build(world: World, path: Path) -> Export:
    """``lake build`` of one module on the world: every command elaborated on the previous one's env."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Uncaught(f"Child exited with 1 (no module file {path.name}: {exc})") from None
    server = WorldServer(world)
    env: int | None = None
    out = Export()
    try:
        _, commands = split_commands(text)
    except SourceError as exc:
        raise Uncaught(f"Child exited with 1 ({path.name}: {exc})") from None
    for cmd in commands:
        if cmd.keyword in ("def", "abbrev"):
            parts = split_declaration(text[cmd.decl_start : cmd.end])
            body = (parts.proof or "").strip()
            out.constants[cmd.name] = Constant("definition", _norm(parts.type), tainted=body in ("sorry", ""))
            continue
        request: dict[str, Any] = {"cmd": cmd.text}
        if env is not None:
            request["env"] = env
        reply = server.handle(request)
        if reply.crash:
            os.kill(os.getpid(), signal.SIGKILL)
        response = reply.response or {}
        errors = [m for m in response.get("messages", []) if m.get("severity") == "error"]
        if "message" in response or errors:
            for m in errors:
                print(f"error: {path.name}:{m['pos']['line']}:{m['pos']['column']}: {m['data']}")
            raise Uncaught("Child exited with 1")
        env = response.get("env", env)
        if cmd.keyword in ("theorem", "lemma"):
            parts = split_declaration(text[cmd.decl_start : cmd.end])
            used_sorry = any("sorry" in m.get("data", "") for m in response.get("messages", []))
            axioms = tuple(world.axioms_of(cmd.name))
            out.constants[cmd.name] = Constant(
                "theorem",
                _norm(statement_as_type(parts)),
                tainted=used_sorry,
                axioms=tuple(sorted({*axioms, "sorryAx"})) if used_sorry else axioms,
            )
    return out


def _norm(text: str) -> str:
    return normalise_tactic(text)


def compare(challenge: Export, solution: Export, theorems: Sequence[str], holes: Sequence[str]) -> list[dict]:
    """One report per target, in comparator's order (theorems, then definition holes)."""
    reports = []
    for name, kind in [*((t, "theorem") for t in theorems), *((d, "definition") for d in holes)]:
        category, message = _check(challenge, solution, name, kind)
        reports.append(
            {"targetName": name, "targetKind": kind, "failureCategory": category, "failureMessage": message}
        )
    return reports


def _check(challenge: Export, solution: Export, name: str, kind: str) -> tuple[Any, str | None]:
    ours, theirs = challenge.constants.get(name), solution.constants.get(name)
    if ours is None:
        return "notFound", f"Const not found in challenge: '{name}'"
    if theirs is None:
        return "notFound", f"Const not found in solution: '{name}'"
    if ours.kind != theirs.kind or ours.kind != kind:
        return {
            "kind": [ours.kind, theirs.kind]
        }, f"Challenge and solution constant kind don't match: '{name}'"
    if ours.type != theirs.type:
        if kind == "theorem":
            return "signature", f"Challenge and solution theorem statement do not match: '{name}'"
        return "signature", f"Const does not match between challenge and target '{name}'"
    return None, None


def check_axioms(solution: Export, targets: Sequence[str], permitted: Sequence[str]) -> str | None:
    for name in targets:
        const = solution.constants[name]
        axioms = set(const.axioms) | ({"sorryAx"} if const.tainted else set())
        for axiom in sorted(axioms):
            if axiom not in permitted:
                return f"Illegal axiom detected: '{axiom}'"
    return None


def run(world: World, config_path: Path, fault: str | None) -> int:
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Uncaught(str(exc)) from None
    if not isinstance(config, dict):
        raise Uncaught("expected a JSON object")
    for key in _REQUIRED:
        if key not in config:
            raise Uncaught(f"property not found: {key}")
    theorems = list(config["theorem_names"])
    holes = list(config.get("definition_names") or [])
    permitted = list(config["permitted_axioms"])
    report_path = config.get("json_output_path")
    root = Path.cwd()

    def module(name: str) -> Path:
        return root.joinpath(*name.split(".")).with_suffix(".lean")

    print(f"Building {config['challenge_module']}", flush=True)
    challenge = build(world, module(config["challenge_module"]))
    print(f"Exporting {theorems} from {config['challenge_module']}", flush=True)
    if fault == "hang":
        time.sleep(3600)
    print(f"Building {config['solution_module']}", flush=True)
    if fault == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    solution = build(world, module(config["solution_module"]))
    print(f"Exporting {theorems} from {config['solution_module']}", flush=True)
    reports = compare(challenge, solution, theorems, holes)
    failure = next((r["failureMessage"] for r in reports if r["failureCategory"] is not None), None)
    if failure is None:
        axiom_failure = check_axioms(solution, [*theorems, *holes], permitted)
        if axiom_failure:
            for r in reports:
                r["failureCategory"], r["failureMessage"] = "axioms", axiom_failure
            failure = axiom_failure
    report: dict[str, Any] = {
        "reports": reports,
        "kernel": {"accepted": None, "failureMessage": None},
        "nanoda": {"accepted": None, "failureMessage": None},
    }
    if failure is None:
        print("Running Lean default kernel on solution.", flush=True)
        print("Lean default kernel accepts the solution", flush=True)
        report["kernel"] = {"accepted": True, "failureMessage": None}
    if fault == "drop-target":
        report["reports"] = [r for r in reports if r["targetName"] not in theorems]
    if report_path:
        text = "{not json" if fault == "garbage-report" else json.dumps(report, separators=(",", ":"))
        Path(report_path).write_text(text, encoding="utf-8")
    if fault == "silent":
        return 0
    if failure is not None and fault != "lie":
        raise Uncaught(f"Some targets failed:\n- {failure}")
    if fault != "no-success-line":
        print("Your solution is okay!", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="comparator (double)", description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", required=True, help="the scripted world that plays Lean")
    parser.add_argument("--fault", choices=FAULTS, default=None)
    parser.add_argument("config", nargs="?")
    args = parser.parse_args(argv)
    if args.config is None:
        print("uncaught exception: Expected config file path as first argument.", file=sys.stderr)
        return 1
    try:
        world = World.load(args.world)
    except WorldError as exc:
        print(f"comparator double: {exc}", file=sys.stderr)
        return 2
    try:
        return run(world, Path(args.config), args.fault)
    except Uncaught as exc:
        print(f"uncaught exception: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
