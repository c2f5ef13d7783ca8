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
import contextlib
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


def _pool_double(*args: str) -> list[str]:
    return [sys.executable, "-m", "prover.lean.doubles.pool_repl", *args]


def _launcher_rss_mb(pid: int) -> float:
    """Resident memory of the processes between us and the REPL (the reaper, or bubblewrap's two), in MB."""
    from prover.lean.repl_process import tree_rss_mb

    total = 0.0
    current = pid
    while True:
        children: list[int] = []
        for task in Path(f"/proc/{current}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
        if not children:
            return total  # ``current`` is the REPL itself: not counted
        total += tree_rss_mb(current) - sum(tree_rss_mb(c) for c in children)
        current = children[0]


def bench_sandbox(starts: int, commands: int) -> list[dict[str, float | str]]:
    """Start-up (start to first answer) and per-command round trip of one REPL double, per ``backend.sandbox``."""
    from prover.lean.sandbox import make_sandbox

    rows: list[dict[str, float | str]] = []
    for mode in ("none", "bwrap"):
        sandbox = make_sandbox(mode)  # type: ignore[arg-type]
        startup = []
        for _ in range(starts):
            proc = ReplProcess(_pool_double(), Path.cwd(), timeout_s=30, sandbox=sandbox)
            t0 = time.perf_counter()
            proc.request({"cmd": "example : True := trivial"})
            startup.append((time.perf_counter() - t0) * 1000)
            proc.kill()
        proc = ReplProcess(_pool_double(), Path.cwd(), timeout_s=30, sandbox=sandbox)
        proc.request({"cmd": "warm"})
        launcher_mb = _launcher_rss_mb(proc.pid) if proc.pid else 0.0
        times = []
        for i in range(commands):
            t0 = time.perf_counter()
            proc.request({"tactic": "skip", "proofState": i})
            times.append((time.perf_counter() - t0) * 1000)
        proc.kill()
        times.sort()
        rows.append(
            {
                "sandbox": mode,
                "startup_ms_p50": round(statistics.median(startup), 1),
                "command_ms_mean": round(statistics.fmean(times), 4),
                "command_ms_p50": round(times[len(times) // 2], 4),
                "launcher_rss_mb": round(launcher_mb, 1),
            }
        )
    for key in ("startup_ms_p50", "command_ms_mean"):
        rows[1][key.replace("_ms", "_ratio")] = round(float(rows[1][key]) / float(rows[0][key]), 2)
    return rows


def bench_spares(import_s: float, repeats: int) -> list[dict[str, float | int]]:
    """Seconds from a timed-out command to the next answer on the same header, per ``backend.warm_spares``,
    with a double whose import sleeps ``import_s`` (Mathlib's import)."""
    from prover.lean.repl_backend import ReplSession
    from prover.lean.repl_process import ReplTimeout

    rows: list[dict[str, float | int]] = []
    for spares in (0, 1):
        cfg = {
            "command": _pool_double("--import-s", str(import_s)),
            "project_dir": str(Path.cwd()),
            "pool_size": 1,
            "tactic_timeout_s": 1.0,
            "start_timeout_s": import_s * 4 + 30,
            "warm_spares": spares,
        }
        waits = []
        with ReplSession(cfg) as session:
            session.warm_up()
            for _ in range(repeats):
                if session.spares is not None:  # measure the steady state: the spare has finished importing
                    while session.spares.counts()["ready"] < 1:
                        time.sleep(0.1)
                with contextlib.suppress(ReplTimeout):
                    session.run_command("hang", timeout=1.0)
                t0 = time.perf_counter()
                assert session.run_command("example : True := trivial", timeout=import_s * 4 + 30).ok
                waits.append(time.perf_counter() - t0)
        rows.append(
            {
                "warm_spares": spares,
                "import_s": import_s,
                "timeouts": repeats,
                "next_answer_s_mean": round(statistics.fmean(waits), 3),
                "next_answer_s_max": round(max(waits), 3),
            }
        )
    return rows


def _benchmark_headers(data: Path) -> dict[str, list[str]]:
    """The header (text before the first declaration) of every problem of the shared benchmark files."""
    from prover.lean.header_key import header_key
    from prover.lean.source import split_commands
    from prover.lean.statement import DECL_KEYWORDS

    def before_declaration(text: str) -> str:
        """The text before the first declaration (its doc comment and modifiers included), read by the
        project's own Lean command splitter."""
        _, commands = split_commands(text)
        first = next((c.start for c in commands if c.keyword in DECL_KEYWORDS), len(text))
        return text[:first]

    out: dict[str, list[str]] = {}
    for name, path, field in (
        ("minif2f (v4.24)", "minif2f/minif2f-lean4-v4.24.0.jsonl", "header"),
        ("minif2f (DeepSeek)", "minif2f/minif2f-deepseek-prover-v1.5.jsonl", "header"),
        ("PutnamBench", "putnambench/putnambench-lean4.jsonl", "lean"),
    ):
        rows = [json.loads(line) for line in (data / path).read_text(encoding="utf-8").splitlines() if line]
        out[name] = [before_declaration(str(r[field])) if field == "lean" else str(r[field]) for r in rows]
    formal = json.loads((data / "formalmath" / "FormalMATH-Lite.json").read_text(encoding="utf-8"))
    out["FormalMATH-Lite"] = [before_declaration(str(r["autoformalization"])) for r in formal]
    out["all four"] = [h for hs in list(out.values()) for h in hs]
    assert all(header_key(h).imports for h in out["all four"][:5])
    return out


def bench_headers(data: Path) -> list[dict[str, float | int | str]]:
    """Processes a pool needs per benchmark when keyed by raw header text (Kimina) vs by ``header_key``."""
    from prover.lean.header_key import header_key, shared_fraction

    rows: list[dict[str, float | int | str]] = []
    for name, headers in _benchmark_headers(data).items():
        figures = shared_fraction(headers)
        keys = sorted({header_key(h).imports for h in headers}, key=len)
        rows.append(
            {
                "benchmark": name,
                **{k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()},
                "keys": " | ".join(", ".join(k) for k in keys[:4]),
            }
        )
    return rows


def bench_memory(
    commands: int, grow_kb: int, max_rss_mb: float | None, plot: Path | None
) -> dict[str, float]:
    """RSS of one REPL double whose memory grows ``grow_kb`` per command, over ``commands`` commands, with the
    pool's RSS recycling at ``max_rss_mb`` (None: off). Samples every command; plots when ``plot`` is given."""
    from prover.lean.repl_process import tree_rss_mb
    from prover.lean.sandbox import make_sandbox

    proc = ReplProcess(
        _pool_double("--grow-kb", str(grow_kb)),
        Path.cwd(),
        timeout_s=30,
        max_rss_mb=max_rss_mb,
        sandbox=make_sandbox("auto"),
    )
    rss: list[float] = []
    t0 = time.perf_counter()
    for i in range(commands):
        proc.request({"tactic": "skip", "proofState": i})
        rss.append(tree_rss_mb(proc.pid) if proc.pid else 0.0)
    elapsed = time.perf_counter() - t0
    proc.kill()
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(range(1, commands + 1), rss, linewidth=0.8)
        if max_rss_mb:
            ax.axhline(
                max_rss_mb, color="red", linestyle="--", linewidth=0.8, label=f"max_rss_mb={max_rss_mb:g}"
            )
            ax.legend(loc="upper left")
        ax.set_xlabel("command")
        ax.set_ylabel("REPL tree RSS (MB)")
        ax.set_title(f"{commands} commands, +{grow_kb} KB each, sandbox bwrap")
        fig.tight_layout()
        plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(plot, dpi=90)
    live = [r for r in rss if r > 0]
    return {
        "commands": commands,
        "grow_kb": grow_kb,
        "max_rss_mb": max_rss_mb or 0,
        "restarts": proc.restarts,
        "rss_mb_max": round(max(live), 1),
        "rss_mb_last": round(live[-1], 1),
        "seconds": round(elapsed, 1),
    }


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
    sb = sub.add_parser("sandbox", help="start-up and per-command cost of backend.sandbox=bwrap vs none")
    sb.add_argument("--starts", type=int, default=20)
    sb.add_argument("--commands", type=int, default=2000)
    sp = sub.add_parser("spares", help="time from a timeout to the next answer, with and without warm spares")
    sp.add_argument("--import-s", type=float, default=30.0)
    sp.add_argument("--repeats", type=int, default=3)
    hd = sub.add_parser("headers", help="header-sharing hit rate on the benchmarks' headers")
    hd.add_argument("--data", type=Path, default=Path("../shared/data"))
    me = sub.add_parser("memory", help="RSS under sustained load with recycling")
    me.add_argument("--commands", type=int, default=10000)
    me.add_argument("--grow-kb", type=int, default=256)
    me.add_argument("--max-rss-mb", type=float, default=400.0)
    me.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.what == "overhead":
        print(json.dumps(bench_overhead(args.commands)))
    elif args.what == "sandbox":
        for row in bench_sandbox(args.starts, args.commands):
            print(json.dumps(row))
    elif args.what == "spares":
        for row in bench_spares(args.import_s, args.repeats):
            print(json.dumps(row))
    elif args.what == "headers":
        for row in bench_headers(args.data):
            print(json.dumps(row, ensure_ascii=False))
    elif args.what == "memory":
        print(json.dumps(bench_memory(args.commands, args.grow_kb, args.max_rss_mb or None, args.plot)))
    else:
        for row in bench_pool(args.processes, args.delay_ms, args.steps, args.rounds, args.server):
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
