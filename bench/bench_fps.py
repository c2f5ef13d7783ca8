"""Per-problem overhead of the FPS layer over plain proving, on the scripted FPS world (no Lean, no model).

Plain: best-first search on the FPS statement itself, then ``session.verify`` of the proof (what ``prover
prove`` does). FPS: ``solve_problem`` (the prelude through ``FpsSession``, pruning of assigned answer goals, the
same search, then the final check: replay, compile + extraction, substituted ``verify``, the RPE tactic probe
and RPE). Problems: ``solved``/``wrong`` (answer assigned by unification, pruned when it comes first), ``split``
(assigned in one conjunct while the other stays open: pruned early), ``chosen`` (run with ``answer_goal=first``:
the session opens with ``pick_goal`` and the answer is given by ``exact``). Reported: wall time per problem (median of ``--repeat`` runs) and the tactics the world ran, since
on a real REPL each extra tactic or command costs Lean time that this in-process world does not charge.

    .venv/bin/python -m bench.bench_fps --repeat 50
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
    args = parser.parse_args(argv)
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
            preflight_formal_answers=False, normal_form_probe=False, answer_goal=answer_goal
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


if __name__ == "__main__":
    sys.exit(main())
