"""Evaluation benchmark: per-problem scheduling overhead (trivial jobs) and throughput on a scripted world.

.venv/bin/python -m bench.bench_evaluation [--jobs 40] [--problems 24] [--delay-ms 50]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from prover.evaluation.executors import InlineExecutor, LocalExecutor, RayExecutor, WorkerSpec


class TrivialWorker:
    """Returns at once: measures what the executor itself costs per job."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        return {"id": job["id"]}

    def close(self) -> None:
        pass


def _world(folder: Path, problems: int, delay_ms: int) -> dict[str, Any]:
    goals, theorems = {}, []
    for i in range(problems):
        goal = f"⊢ {i} + 0 = {i}"
        theorems.append({"name": f"p{i}", "statement": f"theorem p{i} : {i} + 0 = {i}", "goals": [goal]})
        goals[goal] = {"omega": {"goals": [f"case a\n⊢ {i} = {i}"]}}
        goals[f"case a\n⊢ {i} = {i}"] = {"rfl": {"goals": []}}
    path = folder / "world.json"
    path.write_text(json.dumps({"theorems": theorems, "goals": goals, "default_delay_ms": delay_ms}), "utf-8")
    return {"world": str(path), "theorems": theorems}


def _time(executor: Any, spec: WorkerSpec, jobs: list[dict[str, Any]]) -> float:
    t0 = time.perf_counter()
    n = sum(1 for _ in executor.run(spec, jobs))
    assert n == len(jobs)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--problems", type=int, default=24)
    parser.add_argument("--delay-ms", type=int, default=50)
    args = parser.parse_args()
    trivial = WorkerSpec("bench.bench_evaluation:TrivialWorker", {})
    jobs = [{"id": str(i)} for i in range(args.jobs)]
    rows = []
    for label, ex in (
        ("inline", InlineExecutor()),
        ("local x1", LocalExecutor(1)),
        ("local x2", LocalExecutor(2)),
        ("ray x2", RayExecutor(2)),
    ):
        _time(ex, trivial, jobs[:2]) if label == "inline" else None
        total = _time(ex, trivial, jobs)
        rows.append(
            {
                "bench": "overhead",
                "executor": label,
                "jobs": len(jobs),
                "total_s": round(total, 2),
                "ms_per_job": round(1000 * total / len(jobs), 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    from prover.evaluation.benchmarks import Problem
    from prover.lean.types import Theorem

    with tempfile.TemporaryDirectory() as tmp:
        world = _world(Path(tmp), args.problems, args.delay_ms)
        problems = [
            Problem(t["name"], Theorem(t["name"], t["statement"])).to_json() for t in world["theorems"]
        ]
        cfg = {
            "backend": {
                "name": "scripted",
                "world": world["world"],
                "in_process": True,
                "tactic_timeout_s": 5,
            },
            "generator": {
                "name": "fixed",
                "tactics": [{"tactic": "omega", "logprob": -1.0}, {"tactic": "rfl", "logprob": -1.5}],
            },
            "search": {"name": "bfs", "num_sampled_tactics": 2, "max_expansions": 10},
        }
        spec = WorkerSpec("prover.evaluation.runner:ProblemWorker", cfg)
        for label, ex in (
            ("local x1", LocalExecutor(1)),
            ("local x2", LocalExecutor(2)),
            ("local x4", LocalExecutor(4)),
            ("ray x1", RayExecutor(1)),
            ("ray x2", RayExecutor(2)),
            ("ray x4", RayExecutor(4)),
        ):
            total = _time(ex, spec, problems)
            rows.append(
                {
                    "bench": "throughput",
                    "executor": label,
                    "problems": len(problems),
                    "delay_ms": args.delay_ms,
                    "total_s": round(total, 2),
                    "problems_per_s": round(len(problems) / total, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
