"""Lean-layer benchmarks: REPL client overhead per command, and pool throughput on a scripted world.

    .venv/bin/python -m bench.bench_lean overhead --commands 2000
    .venv/bin/python -m bench.bench_lean pool --processes 1 2 4 8 --delay-ms 100 --steps 64
    .venv/bin/python -m bench.bench_lean pool --processes 1 2 4 8 --delay-ms 1 --steps 1024

``overhead`` replays a synthetic recording (typical tactic answers, one multi-goal state each) through
``prover.lean.doubles.replay`` and times the client's ``request`` round trip. The server's start-up (interpreter,
imports) is paid by one untimed warm-up command and reported apart as ``startup_ms``; the replay server's
per-command cost is included, so ``mean_ms`` is an upper bound on the client's share. ``pool`` builds a
scripted world whose tactics each sleep ``delay_ms`` and runs batches of independent steps through
``ReplSession`` with 1..N processes (servers started and the root state known in every process before the
clock starts), reporting steps/s and the speed-up over one process; with 1 ms steps it measures the
scheduler's own cost per step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prover.lean.repl_process import ReplProcess


def _synthetic_recording(folder: Path, n: int) -> tuple[Path, Path]:
    commands, responses = [], []
    goal = "x y : ℕ\nh₀ : x + y = 10\nh₁ : x - y = 2\n⊢ x = 6"
    for i in range(-1, n):  # command -1: the untimed warm-up that pays the server's start-up
        commands.append(json.dumps({"tactic": f"have h{i} : x ≤ 10 := by omega", "proofState": i}))
        responses.append(
            json.dumps(
                {
                    "proofStatus": "Incomplete: open goals remain",
                    "proofState": i + 1,
                    "goals": [goal, f"case h{i}\n" + goal],
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    cin, cout = folder / "synthetic.in", folder / "synthetic.expected.out"
    cin.write_text("\n\n".join(commands) + "\n", encoding="utf-8")
    cout.write_text("\n\n".join(responses) + "\n\n", encoding="utf-8")
    return cin, cout


def bench_overhead(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cin, cout = _synthetic_recording(Path(tmp), n)
        proc = ReplProcess(
            [sys.executable, "-m", "prover.lean.doubles.replay", str(cin), str(cout)], tmp, timeout_s=30
        )
        t0 = time.perf_counter()
        warm = proc.request({"tactic": "have h-1 : x ≤ 10 := by omega", "proofState": -1})
        startup_ms = (time.perf_counter() - t0) * 1000
        assert warm.proof_state == 0
        times = []
        for i in range(n):
            cmd = {"tactic": f"have h{i} : x ≤ 10 := by omega", "proofState": i}
            t0 = time.perf_counter()
            resp = proc.request(cmd)
            times.append(time.perf_counter() - t0)
            assert resp.proof_state == i + 1 and len(resp.goals or ()) == 2
        code = proc.shutdown()
        assert code == 0, "replay reported a mismatch"
    times_ms = sorted(t * 1000 for t in times)
    return {
        "commands": n,
        "startup_ms": round(startup_ms, 1),
        "mean_ms": statistics.fmean(times_ms),
        "p50_ms": times_ms[len(times_ms) // 2],
        "p99_ms": times_ms[int(len(times_ms) * 0.99) - 1],
    }


def _delay_world(path: Path, delay_ms: int, width: int) -> None:
    root = "x : ℕ\n⊢ x = x"
    world = {
        "theorems": [
            {
                "name": "t_bench",
                "statement": "theorem t_bench (x : ℕ) : x = x",
                "header": "import Mathlib\n",
                "goals": [root],
            }
        ],
        "goals": {
            root: {
                f"tac{i}": {"goals": [f"x : ℕ\n⊢ x = x + {i} - {i}"], "delay_ms": delay_ms}
                for i in range(width)
            }
        },
        "default_delay_ms": 0,
    }
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")


def bench_pool(processes: list[int], delay_ms: int, steps: int, rounds: int, server: str = "world"):
    """Steps/s of ``ReplSession.run_tactics`` on independent slow steps, per pool size.

    ``server="world"``: the scripted world (tactics sleep ``delay_ms``). ``server="double"``: the test double
    ``tests/doubles/misbehaving_repl.py`` whose ``nap*`` tactics sleep a fixed 200 ms (used while the world
    server is unavailable).
    """
    from prover.lean.factory import make_session
    from prover.lean.repl_backend import ReplSession
    from prover.lean.types import TacticState, Theorem

    if server == "double":
        delay_ms = 200
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world.json"
        _delay_world(world, delay_ms, steps)
        thm = Theorem("t_bench", "theorem t_bench (x : ℕ) : x = x")
        prefix = "nap" if server == "double" else "tac"
        for n in processes:
            if server == "double":
                double = Path(__file__).resolve().parent.parent / "tests" / "doubles" / "misbehaving_repl.py"
                session = ReplSession(
                    {"command": [sys.executable, str(double)], "pool_size": n, "tactic_timeout_s": 30.0}
                )
            else:
                session = make_session(
                    {"name": "scripted", "world": str(world), "pool_size": n, "tactic_timeout_s": 30.0}
                )
            session.tactic_guard = lambda tactic: []  # measure the pool, not the guard
            with session:
                root = session.start(thm)
                assert isinstance(root, TacticState), root
                session.run_tactics([(root, "warm") for _ in range(n)])  # root known in every process
                t0 = time.perf_counter()
                for _ in range(rounds):
                    results = session.run_tactics([(root, f"{prefix}{i}") for i in range(steps)])
                    assert all(isinstance(r, TacticState) for r in results), results[:3]
                elapsed = time.perf_counter() - t0
            rate = rounds * steps / elapsed
            rows.append(
                {
                    "server": server,
                    "processes": n,
                    "delay_ms": delay_ms,
                    "batch": steps,
                    "steps": rounds * steps,
                    "seconds": round(elapsed, 3),
                    "steps_per_s": round(rate, 2),
                }
            )
    base = rows[0]["steps_per_s"]
    for row in rows:
        row["speedup"] = round(row["steps_per_s"] / base, 2)
        row["ideal_steps_per_s"] = row["processes"] * 1000.0 / delay_ms
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.bench_lean", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--commands", type=int, default=2000)
    p = sub.add_parser("pool")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--delay-ms", type=int, default=100)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--server", choices=["world", "double"], default="world")
    args = parser.parse_args(argv)
    if args.what == "overhead":
        print(json.dumps(bench_overhead(args.commands)))
    else:
        for row in bench_pool(args.processes, args.delay_ms, args.steps, args.rounds, args.server):
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
