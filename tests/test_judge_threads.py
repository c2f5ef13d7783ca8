"""The simulation judge is called from several threads by ``prover serve``: concurrent verdicts must be the
same as sequential ones, and the checks must really overlap (each runs on a world server of its own)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prover.lean.judge import make_judge
from prover.lean.types import Theorem

DELAY_MS = 150


def slow_world(tmp_path: Path, n: int) -> Path:
    """``n`` theorems; ``simp`` closes each after ``DELAY_MS``, ``decide`` fails; ``t0`` is closed with sorry."""
    theorems, goals = [], {}
    for i in range(n):
        goal = f"⊢ p{i}"
        theorems.append({"name": f"t{i}", "statement": f"theorem t{i} : p{i}", "goals": [goal]})
        goals[goal] = {
            "simp": {"goals": [], "delay_ms": DELAY_MS},
            "decide": {"error": f"decide failed on p{i}"},
        }
    goals["⊢ p0"]["sorry"] = {"goals": []}
    path = tmp_path / "world.json"
    path.write_text(json.dumps({"theorems": theorems, "goals": goals}), encoding="utf-8")
    return path


def test_concurrent_simulation_verdicts_equal_sequential_ones_and_overlap(tmp_path: Path) -> None:
    n = 8
    judge = make_judge({"judge": "simulation"}, {"name": "scripted", "world": str(slow_world(tmp_path, n))})
    jobs = [
        (Theorem(f"t{i}", f"theorem t{i} : p{i}"), proof)
        for i in range(n)
        for proof in ("simp", "decide", "sorry" if i == 0 else "simp\nsimp")
    ]
    try:
        sequential = [judge.judge(t, p) for t, p in jobs]
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            concurrent = list(pool.map(lambda job: judge.judge(*job), jobs))
        wall = time.monotonic() - t0
    finally:
        judge.close()
    assert concurrent == sequential
    accepted = [(t.name, p) for (t, p), v in zip(jobs, concurrent, strict=True) if v.accepted]
    assert accepted == [(f"t{i}", "simp") for i in range(n)]  # sorry, decide and a spare tactic are refused
    assert any("decide failed on p3" in r for r in concurrent[3 * 3 + 1].reasons)
    # 8 accepted checks sleep 150 ms each: serialised they would take >= 1.2 s
    assert wall < n * DELAY_MS / 1000 * 0.75, wall
