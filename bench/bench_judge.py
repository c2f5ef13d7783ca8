"""Time per judged proof, for each judge (``prover.lean.judge``), with and without the sandbox.

    .venv/bin/python -m bench.bench_judge --n 20                       # doubles: no Lean needed
    .venv/bin/python -m bench.bench_judge --lean --n 5 --judges comparator repl   # real Lean (after `make lean`)

Doubles: ``simulation`` is the scripted world judging in process; ``repl`` starts a fresh world REPL
(``prover.lean.doubles.server``) per proof and reads it strictly (header, declaration, statement check, axiom query,
nonce follow-up, exit); ``comparator`` runs the comparator double (``prover.lean.doubles.comparator``: config,
two "builds" on the world, report) per proof. Half the proofs are honest, half are rejected by Lean (not by the
static pre-filter), so both paths are timed. With ``--lean`` the same runs go to the project's real REPL and
comparator on miniF2F-style statements: the figure a user gets, dominated by ``import Mathlib`` (repl) or by
two ``lake build``s (comparator).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from prover.errors import ProverError
from prover.lean.judge import make_judge
from prover.lean.sandbox import bwrap_problem
from prover.lean.types import Theorem

REPO = Path(__file__).resolve().parents[1]
WORLD = REPO / "tests" / "data" / "worlds" / "judge_world.json"
#: (theorem, honest proof, a proof Lean rejects): the world's, and real Lean's
WORLD_CASES = [(Theorem("add_zero_ok", "theorem add_zero_ok (n : ℕ) : n + 0 = n"), "simp", "decide")]
LEAN_CASES = [
    (Theorem("bench_add_zero", "theorem bench_add_zero (n : ℕ) : n + 0 = n"), "simp", "exact le_refl _"),
    (Theorem("bench_two_mul", "theorem bench_two_mul (a : ℤ) : 2 * a = a + a"), "ring", "exact le_refl _"),
]


def _judge_config(judge: str, lean: bool, timeout_s: float) -> dict[str, Any]:
    cfg: dict[str, Any] = {"judge": judge, "timeout_s": timeout_s}
    if judge == "comparator" and not lean:
        command = [sys.executable, "-m", "prover.lean.doubles.comparator", "--world", str(WORLD)]
        cfg["comparator"] = {"command": command, "lean4export": "", "landrun": ""}
    return cfg


def _backend(lean: bool, sandbox: str) -> dict[str, Any]:
    if lean:
        return {
            "name": "repl",
            "command": ["lake", "env", ".lake/packages/REPL/.lake/build/bin/repl"],
            "project_dir": str(REPO),
            "sandbox": sandbox,
        }
    return {"name": "scripted", "world": str(WORLD), "sandbox": sandbox}


def run(judge_name: str, sandbox: str, n: int, lean: bool, timeout_s: float) -> dict[str, Any]:
    judge = make_judge(_judge_config(judge_name, lean, timeout_s), _backend(lean, sandbox))
    cases = LEAN_CASES if lean else WORLD_CASES
    times, accepted, wrong = [], 0, 0
    try:
        for i in range(n):
            theorem, honest, bad = cases[i % len(cases)]
            proof = honest if i % 2 == 0 else bad
            t0 = time.perf_counter()
            verdict = judge.judge(theorem, proof)
            times.append((time.perf_counter() - t0) * 1000)
            accepted += verdict.accepted
            wrong += verdict.accepted != (proof == honest) or verdict.judge != judge.name
    finally:
        judge.close()
    times.sort()
    return {
        "judge": judge.name,
        "sandbox": sandbox,
        "lean": "real" if lean else "double",
        "proofs": n,
        "accepted": accepted,
        "wrong_verdicts": wrong,
        "mean_ms": round(statistics.fmean(times), 1),
        "p50_ms": round(times[len(times) // 2], 1),
        "max_ms": round(times[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="judged proofs per judge (half honest)")
    parser.add_argument("--judges", nargs="+", default=["simulation", "repl", "comparator"])
    parser.add_argument("--sandbox", nargs="+", default=["none", "bwrap"], choices=["none", "bwrap", "auto"])
    parser.add_argument("--lean", action="store_true", help="real Lean: the project's REPL and comparator")
    parser.add_argument("--timeout-s", type=float, default=900.0)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    problem = preflight(args.judges, args.sandbox, args.lean, args.timeout_s)
    if problem:  # one sentence before any row: a row from a judge that cannot run would be a wrong figure
        print(f"bench_judge: error: {problem}", file=sys.stderr)
        return 2
    rows = []
    for sandbox in args.sandbox:
        if sandbox != "none" and bwrap_problem():
            print(json.dumps({"sandbox": sandbox, "skipped": bwrap_problem()}))
            continue
        for judge in args.judges:
            if judge == "simulation" and (args.lean or sandbox != "none"):
                continue  # no process to sandbox, and no simulation on real Lean
            try:
                row = run(judge, sandbox, args.n, args.lean, args.timeout_s)
            except ProverError as exc:
                print(f"bench_judge: error: {exc}", file=sys.stderr)
                return 2
            rows.append(row)
            print(json.dumps(row), flush=True)
    return 1 if any(r["wrong_verdicts"] for r in rows) else 0


def preflight(judges: list[str], sandboxes: list[str], lean: bool, timeout_s: float) -> str | None:
    """Why the run cannot start (``--lean`` without ``lake``, a judge that cannot be built), or None."""
    if lean and shutil.which("lake") is None:
        return "--lean needs Lean: 'lake' is not on PATH; run `make lean` first (or drop --lean to time the doubles)"
    for sandbox in sandboxes:
        if sandbox != "none" and bwrap_problem():
            continue
        for judge_name in judges:
            if judge_name == "simulation" and (lean or sandbox != "none"):
                continue
            try:
                make_judge(_judge_config(judge_name, lean, timeout_s), _backend(lean, sandbox)).close()
            except ProverError as exc:
                return str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
