"""Per-problem overhead of the FPS layer over plain proving, on the scripted FPS world (no Lean, no model).

Plain: best-first search on the FPS statement itself, then ``session.verify`` of the proof (what ``prover
prove`` does). FPS: ``solve_problem`` (the prelude through ``FpsSession``, pruning of assigned answer goals, the
same search, then the final check: replay, compile + extraction, substituted ``verify``, the RPE tactic probe
and RPE). Problems: ``solved``/``wrong`` (answer assigned by unification, pruned when it comes first), ``split``
(assigned in one conjunct while the other stays open: pruned early), ``chosen`` (run with ``answer_goal=first``:
the session opens with ``pick_goal`` and the answer is given by ``exact``). Reported: wall time per problem (median of ``--repeat`` runs) and the tactics the world ran, since
on a real REPL each extra tactic or command costs Lean time that this in-process world does not charge.

    .venv/bin/python -m bench.bench_fps --repeat 50

``--rejudge REF`` instead re-judges the reference's released baseline solutions with our decision logic
(``prover.fps.rejudge``): REF is a copy of Purewhite2019/formal_problem_solving_main's ``data/`` and
``baseline_results/`` (never committed; see bench/README.md for the command that writes it). One JSON line per
released file (the reference's counts, ours, the records lost), then the totals; exit 1 if any is lost.

    .venv/bin/python -m bench.bench_fps --rejudge /tmp/fpsref
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from prover.fps.check import FpsChecker
from prover.fps.problem import load_fps_file
from prover.fps.settings import SolverSettings
from prover.fps.solver import solve_problem
from prover.fps.statements import fps_theorem
from prover.generation.fixed import FixedTacticGenerator
from prover.lean.doubles.session import WorldSession
from prover.search.factory import make_searcher

WORLDS = Path(__file__).resolve().parent.parent / "tests" / "data" / "worlds"
TACTICS = [
    ("apply Exists.intro", -0.05),
    ("intro k", -0.06),
    ("rfl", -0.1),
    ("show 5 + k ≤ k + 10", -0.5),
    ("omega", -1.0),
    ("all_goals skip", -1.5),
    ("refine ⟨rfl, ?_⟩", -1.6),
    ("pick_goal 2", -1.7),
    ("exact 7", -1.8),
    ("norm_num", -1.9),
]
#: problems whose search starts on the answer goal (``SolverSettings.answer_goal``)
ANSWER_FIRST = {"chosen"}


def counting(session: WorldSession) -> list[int]:
    """Count the whole commands sent through ``session.command_runner`` (verify, compile, probes, RPE)."""
    count = [0]
    make = session.command_runner

    def runner(header: str, **kw):
        inner = make(header)

        def run(command: str, env: int | None = None):
            count[0] += 1
            return inner(command, env=env)

        return run

    session.command_runner = runner  # type: ignore[method-assign]
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--problems", nargs="*", default=["solved", "wrong", "split", "chosen"])
    parser.add_argument(
        "--rejudge", type=Path, help="re-judge the reference's baseline_results/ in this copy"
    )
    parser.add_argument("--limit", type=int, help="with --rejudge: at most this many records per file")
    args = parser.parse_args(argv)
    if args.rejudge is not None:
        return rejudge(args.rejudge, args.limit)
    problems = {
        p.id: p
        for name in ("fps_problems.jsonl", "fps_steering.jsonl")
        for p in load_fps_file(WORLDS / name).problems
    }
    generator = FixedTacticGenerator(TACTICS)
    searcher = make_searcher(
        {"name": "bfs", "max_expansions": 20, "num_sampled_tactics": len(TACTICS), "time_limit_s": 60}
    )
    rows = []
    for ident in args.problems:
        problem = problems[ident]
        answer_goal = "first" if ident in ANSWER_FIRST else "last"
        settings = SolverSettings(
            preflight_formal_answers=False,
            normal_form_probe=False,
            answer_goal=answer_goal,
            prove_ground_truth=False,  # the solving overhead alone (Proven is a run of its own)
        )
        theorem = fps_theorem(problem)
        plain_t, fps_t, plain_n, fps_n = [], [], 0, 0
        for _ in range(args.repeat):
            session = WorldSession(WORLDS / "fps_world.json", real_sleep=False)
            plain_c = counting(session)
            t0 = time.perf_counter()
            result = searcher.search(session, generator, theorem)
            if result.proof:
                session.verify(theorem, result.proof)
            plain_t.append(time.perf_counter() - t0)
            plain_n = session.tactics_run
            session = WorldSession(WORLDS / "fps_world.json", real_sleep=False)
            fps_c = counting(session)
            checker = FpsChecker(session, settings)
            t0 = time.perf_counter()
            record = solve_problem(session, problem, searcher, generator, checker)
            fps_t.append(time.perf_counter() - t0)
            fps_n = session.tactics_run
        plain_ms, fps_ms = statistics.median(plain_t) * 1e3, statistics.median(fps_t) * 1e3
        rows.append(
            {
                "problem": ident,
                "status": record.status,
                "answer_goal": answer_goal,
                "plain_proved": bool(result.proof),
                "plain_ms": round(plain_ms, 2),
                "fps_ms": round(fps_ms, 2),
                "overhead_ms": round(fps_ms - plain_ms, 2),
                "plain_tactics": plain_n,
                "fps_tactics": fps_n,
                "plain_commands": plain_c[0],
                "fps_commands": fps_c[0],
            }
        )
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


def rejudge(root: Path, limit: int | None = None) -> int:
    """Every released ``{solving,proving}.<benchmark>.jsonl`` under ``root/baseline_results`` re-judged."""
    import tempfile

    from prover.fps.rejudge import index_problems, rejudge_file

    files = sorted((root / "baseline_results").glob("*/*/*.jsonl"))
    if not files:
        print(f"bench_fps: no baseline_results/*/*/*.jsonl under {root}", file=sys.stderr)
        return 2
    totals: dict[str, int] = {"files": 0, "records": 0, "reference_counted": 0, "ours_counted": 0, "lost": 0}
    indexes: dict[str, dict] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            bench = path.name.split(".")[1]
            data = root / "data" / f"{bench}.jsonl"
            try:
                json.loads(path.read_text(encoding="utf-8").splitlines()[0])
            except (ValueError, IndexError, OSError):
                print(json.dumps({"path": str(path), "skipped": "not JSON lines (a pointer, or absent)"}))
                continue
            if bench not in indexes:
                indexes[bench] = index_problems(data)
            summary = rejudge_file(path, indexes[bench], Path(tmp), limit)
            row = summary.to_json()
            row["path"] = str(path.relative_to(root))
            print(json.dumps(row, ensure_ascii=False))
            counted = "proven" if summary.kind == "proving" else "solved"
            totals["files"] += 1
            totals["records"] += summary.records
            totals["reference_counted"] += summary.reference[counted]
            totals["ours_counted"] += summary.ours[counted]
            totals["lost"] += len(summary.lost)
    totals["seconds"] = round(time.perf_counter() - started, 1)  # type: ignore[assignment]
    print(json.dumps({"event": "totals", **totals}))
    return 1 if totals["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
