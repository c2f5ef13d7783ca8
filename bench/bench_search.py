"""Search benchmarks on random scripted worlds (no Lean, no model: the search itself is what is measured).

``solve``: for bfs / mcts / mps and several oracle noise levels, the fraction of random theorems proved and
the median expansions to a proof. ``overhead``: the search's own time per expansion (total minus time in
Lean and in the model) while growing a graph of >= 10^4 nodes.

    .venv/bin/python -m bench.bench_search solve --theorems 40 --noise 0 1 2 3
    .venv/bin/python -m bench.bench_search overhead
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.search_worlds import NoisyOracleGenerator, WorldShape, random_world, wide_world
from prover.generation.fixed import FixedTacticGenerator
from prover.search.factory import make_searcher

ALGORITHMS = ("bfs", "mcts", "mps")


def world_session(data: dict[str, Any], folder: Path):
    """The in-process scripted world session (backend=scripted, in_process=true) over ``data``."""
    from prover.lean.factory import make_session

    path = folder / "world.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return make_session(
        {"name": "scripted", "world": str(path), "in_process": True, "tactic_timeout_s": 10.0}
    )


def search_cfg(name: str, tactics: int, expansions: int, time_limit_s: float) -> dict[str, Any]:
    """A ``search`` config; mcts and mps value states with the heuristic critic (bfs has no critic key)."""
    cfg: dict[str, Any] = {
        "name": name,
        "num_sampled_tactics": tactics,
        "max_expansions": expansions,
        "time_limit_s": time_limit_s,
    }
    if name != "bfs":
        cfg["critic"] = "heuristic"
    return cfg


def solve(args: argparse.Namespace) -> list[dict[str, Any]]:
    shape = WorldShape(depth=args.depth, branching=args.branching)
    world = random_world(args.theorems, shape, seed=args.seed)
    session = world_session(world.data, Path(args.tmp))
    rows = []
    for noise in args.noise:
        generator = NoisyOracleGenerator(world, noise, seed=args.seed)
        for name in ALGORITHMS:
            searcher = make_searcher(search_cfg(name, args.tactics, args.expansions, 60))
            results = [searcher.search(session, generator, t) for t in world.theorems]
            proved = [r for r in results if r.proved]
            rows.append(
                {
                    "algorithm": name,
                    "noise": noise,
                    "solved": len(proved) / len(results),
                    "median_expansions": statistics.median(r.stats.expansions for r in proved)
                    if proved
                    else None,
                    "median_tactic_calls": statistics.median(r.stats.tactic_calls for r in proved)
                    if proved
                    else None,
                    "median_proof_len": statistics.median(len(r.proof.splitlines()) for r in proved)
                    if proved
                    else None,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def overhead(args: argparse.Namespace) -> list[dict[str, Any]]:
    world = wide_world(args.branching, args.depth)
    session = world_session(world.data, Path(args.tmp))
    tactics = [(f"step {i}", -1.0) for i in range(args.branching)]
    generator = FixedTacticGenerator(tactics)
    rows = []
    for name in ALGORITHMS:
        # MCTS adds one node per expansion (lazy widening), so it needs ~10x the expansions for 10^4 nodes
        budget = args.mcts_expansions if name == "mcts" else args.expansions
        cfg = search_cfg(name, args.branching, budget, 600)
        result = make_searcher(cfg).search(session, generator, world.theorems[0])
        st = result.stats
        rows.append(
            {
                "algorithm": name,
                "nodes": len(result.graph),
                "expansions": st.expansions,
                "tactic_calls": st.tactic_calls,
                "search_ms_per_expansion": 1000 * st.search_time_s / st.expansions,
                # a scripted world answers in place of Lean: its time is named as such, never as Lean's
                "simulated_lean_s": round(st.lean_time_s, 3),
                "model_s": round(st.model_time_s, 3),
                "total_s": round(st.total_time_s, 3),
                "simulation": "scripted world (no Lean)",
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.bench_search", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("solve", help="fraction solved and expansions to proof vs oracle noise")
    p.add_argument("--theorems", type=int, default=40)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--branching", type=int, default=6)
    p.add_argument("--tactics", type=int, default=8, help="S: tactics sampled per expansion")
    p.add_argument("--expansions", type=int, default=50, help="T: expansion budget")
    p.add_argument("--noise", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0])
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=solve)
    o = sub.add_parser("overhead", help="search time per expansion on a >= 10^4-node graph")
    o.add_argument("--branching", type=int, default=10)
    o.add_argument("--depth", type=int, default=5)
    o.add_argument(
        "--expansions", type=int, default=1111, help="bfs / mps: expands depths 0-3 = 11,111 nodes"
    )
    o.add_argument("--mcts-expansions", type=int, default=10000)
    o.set_defaults(func=overhead)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
