"""`prover prove` / `prover report` end to end on a scripted world: completion, kill + resume, reports, Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.evaluation.results import read_results

HEADER = "import Mathlib\n"
THEOREMS = [  # (name, statement, root goal, split)
    ("mathd_algebra_1", "theorem mathd_algebra_1 (n : ℕ) : n + 0 = n", "n : ℕ\n⊢ n + 0 = n", "valid"),
    (
        "amc12_and",
        "theorem amc12_and (p q : Prop) (hp : p) (hq : q) : p ∧ q",
        "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q",
        "test",
    ),
    ("imo_hard", "theorem imo_hard (x : ℝ) : x ^ 2 ≥ 0", "x : ℝ\n⊢ x ^ 2 ≥ 0", "test"),
    ("induction_cheat", "theorem induction_cheat : (2 : ℕ) + 2 = 5", "⊢ 2 + 2 = 5", "test"),
]
TACTICS = "generator.tactics=[{tactic:simp,logprob:-0.5},{tactic:constructor,logprob:-1.0},{tactic:assumption,logprob:-1.2}]"


def write_world(folder: Path, extra: int = 0, delay_ms: int = 0) -> tuple[Path, Path]:
    """A benchmark JSONL and a world covering it; ``extra`` more one-step problems for long runs."""
    theorems = list(THEOREMS) + [
        (
            f"mathd_numbertheory_{i}",
            f"theorem mathd_numbertheory_{i} : {i} + 0 = {i}",
            f"⊢ {i} + 0 = {i}",
            "test",
        )
        for i in range(extra)
    ]
    goals = {
        "n : ℕ\n⊢ n + 0 = n": {"simp": {"goals": []}},
        "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q": {
            "simp": {"error": "simp made no progress"},
            "constructor": {"goals": ["case left\n⊢ p", "case right\n⊢ q"]},
        },
        "case left\n⊢ p": {"assumption": {"goals": []}},
        "case right\n⊢ q": {"assumption": {"goals": []}},
        "⊢ 2 + 2 = 5": {"simp": {"goals": []}},  # "proved" only thanks to sorryAx: verification must reject
    }
    for i in range(extra):
        goals[f"⊢ {i} + 0 = {i}"] = {"simp": {"goals": []}}
    world = {"theorems": [], "goals": goals, "default_delay_ms": delay_ms}
    for name, statement, goal, _ in theorems:
        entry = {"name": name, "statement": statement, "header": HEADER, "goals": [goal]}
        if "cheat" in name:
            entry["axioms"] = ["propext", "sorryAx"]
        world["theorems"].append(entry)
    world_path, bench_path = folder / "world.json", folder / "bench.jsonl"
    world_path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    bench_path.write_text(
        "".join(
            json.dumps(
                {"name": n, "split": s, "header": HEADER, "formal_statement": st + " := by sorry"},
                ensure_ascii=False,
            )
            + "\n"
            for n, st, _, s in theorems
        ),
        encoding="utf-8",
    )
    return world_path, bench_path


def overrides(world: Path, bench: Path, *more: str) -> list[str]:
    return [
        "benchmark=local",
        f"benchmark.path={bench}",
        "backend=scripted",
        f"backend.world={world}",
        "++backend.in_process=true",
        "generator=fixed",
        TACTICS,
        "search.max_expansions=10",
        *more,
    ]


def statuses(run: Path) -> dict[str, str]:
    return {r.problem: r.status for r in read_results(run / "results.jsonl").records}


def _proved_inline(tmp_path: Path) -> tuple[Path, Path, Path]:
    """``prover prove`` over the four-problem world, run in this process: (run directory, world, benchmark)."""
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    assert (
        main(["prove", "--out", str(run), "--no-progress", *overrides(world, bench, "executor.workers=0")])
        == 0
    )
    return run, world, bench


def test_prove_runs_to_completion_verifies_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, world, bench = _proved_inline(tmp_path)
    assert statuses(run) == {
        "mathd_algebra_1": "proved",
        "amc12_and": "proved",
        "imo_hard": "failed",
        "induction_cheat": "unverified",
    }
    records = read_results(run / "results.jsonl").records
    proved = [r for r in records if r.proved]
    assert all(r.verification and r.verification.accepted for r in proved)
    assert {r.budget for r in records} == {"1×8×10"} and records[0].lean is None  # no Lean ran
    assert (run / "config.yaml").is_file() and "in_process: true" in (run / "config.yaml").read_text(
        encoding="utf-8"
    )
    printed = capsys.readouterr()
    done = [json.loads(line) for line in printed.out.splitlines() if '"done"' in line][0]
    assert done["solved"] == 2 and done["total"] == 4
    # a scripted world is named a simulation where the user looks first: the start event and stderr
    start = json.loads(printed.out.splitlines()[0])
    assert start["event"] == "start" and "(a simulation, not Lean): no Lean ran" in start["simulation"]
    assert "prover prove: SIMULATION: scripted world" in printed.err

    assert main(["report", str(run)]) == 0
    summary = json.loads((run / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["solved"] == 2 and summary["pass_rate"] == 0.5 and summary["budget"] == "1×8×10"
    assert summary["categories"]["amc"] == {"solved": 1, "total": 1}
    assert summary["statuses"]["unverified"] == 1
    for name in ("report.md", "report.html", "categories.png", "time.png", "expansions.png"):
        assert (run / "report" / name).stat().st_size > 0
    assert not (run / "report" / "pass_at_k.png").exists()  # one point (pass@1) is a number, not a plot
    lean = (run / "report" / "proofs.lean").read_text(encoding="utf-8")
    assert (
        "theorem amc12_and (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  constructor\n  assumption" in lean
    )
    assert "induction_cheat" not in lean and lean.startswith("import Mathlib")
    assert "-- SIMULATION: this run used a scripted world (a simulation, not Lean)" in lean
    report_md = (run / "report" / "report.md").read_text(encoding="utf-8")
    assert "2/4 solved (50.0%)" in report_md
    # the judge decided and is named in run.json, in every record and in the report
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["judge"] == "simulation"
    assert {r.judge for r in records} == {"simulation"} and summary["judge"] == "simulation"
    assert "judge simulation" in report_md and "accepted by the judge `simulation`" in report_md

    # a second run that solves less, compared with the first
    run2 = tmp_path / "run2"
    one_tactic = "generator.tactics=[{tactic:simp,logprob:-0.5}]"
    assert (
        main(
            [
                "prove",
                "--out",
                str(run2),
                "--no-progress",
                *overrides(world, bench, "executor.workers=0", one_tactic),
            ]
        )
        == 0
    )
    assert main(["report", str(run), "--compare", str(run2)]) == 0
    cmp = json.loads((run / "report" / "summary.json").read_text(encoding="utf-8"))["comparison"]
    assert cmp["only_a"] == ["amc12_and"] and cmp["both"] == ["mathd_algebra_1"] and cmp["only_b"] == []


def test_whole_proof_mode_pass_at_k_and_sorry_never_counts(tmp_path: Path) -> None:
    from prover.evaluation.runner import ProblemWorker

    world, bench = write_world(tmp_path)
    from omegaconf import OmegaConf

    from prover.config import compose

    tree_search_only = "search.max_expansions="  # whole-proof sampling has no expansions (an unknown key)
    cfg = compose(
        [
            o
            for o in overrides(world, bench, "search=whole_proof", "search.num_samples=4")
            if tree_search_only not in o
        ]
    )
    container = OmegaConf.to_container(cfg, resolve=True)
    container["generator"]["tactics"] = [
        {"tactic": "sorry", "logprob": -0.1},
        {"tactic": "```lean\nconstructor\nassumption\nassumption\n```", "logprob": -0.2},
        {"tactic": "simp", "logprob": -0.3},
        {"tactic": "exact?", "logprob": -0.4},
    ]
    worker = ProblemWorker(container)
    from prover.evaluation.benchmarks import load_path

    problems = {p.id: p for p in load_path(bench).problems}
    cheat = worker.run(problems["induction_cheat"].to_json()).model_dump(mode="json")
    assert cheat["status"] != "proved" and cheat["samples"]["c"] == 0 and cheat["samples"]["n"] == 4
    conj = worker.run(problems["amc12_and"].to_json()).model_dump(mode="json")
    assert conj["status"] == "proved" and conj["proof"] == "constructor\nassumption\nassumption"
    assert conj["samples"] == {**conj["samples"], "n": 4, "c": 1}
    worker.close()


def _prove_cmd(run: Path, world: Path, bench: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prover.cli.main",
        "prove",
        "--no-progress",
        *more,
        *overrides(world, bench, "executor.workers=1"),
    ]


def test_resume_with_nothing_left_loads_no_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finished run resumed again does no work: no worker (model, Lean session) is built for it."""
    from prover.evaluation.executors import WorkerSpec

    run, _, _ = _proved_inline(tmp_path)
    before = (run / "results.jsonl").read_bytes()
    capsys.readouterr()

    def no_build(self: WorkerSpec) -> None:
        raise AssertionError("a worker was built for a run with nothing left")

    monkeypatch.setattr(WorkerSpec, "build", no_build)
    assert main(["prove", "--resume", str(run), "--no-progress", "executor.workers=0"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["already_finished"] == 4 and events[0]["load_s"] == 0
    assert events[-1]["event"] == "done" and events[-1]["attempted_now"] == 0 and events[-1]["solved"] == 2
    assert "no Lean ran" in events[-1]["simulation"]  # what ran is the first invocation's, from run.json
    assert (run / "results.jsonl").read_bytes() == before


@pytest.mark.slow
def test_killed_run_resumes_without_duplicates_or_losses(tmp_path: Path) -> None:
    world, bench = write_world(tmp_path, extra=16, delay_ms=150)
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _prove_cmd(run, world, bench, "--out", str(run)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    results = run / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.is_file() and len(results.read_bytes().splitlines()) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(results).records
    assert 4 <= len(before) < 20, "the run must be killed in the middle"
    resume = [
        sys.executable,
        "-m",
        "prover.cli.main",
        "prove",
        "--no-progress",
        "--resume",
        str(run),
        "executor.workers=1",
    ]  # the run's saved config is used; only executor overrides are allowed
    done = subprocess.run(resume, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    after = read_results(results).records
    names = [r.problem for r in after]
    assert len(names) == len(set(names)) == 20
    assert [r.model_dump() for r in after[: len(before)]] == [r.model_dump() for r in before]
    start = json.loads(done.stdout.splitlines()[0])
    assert start["already_finished"] == len(before)
    assert (
        sum(r.proved for r in after) == 18
    )  # 16 extra + two real proofs; imo_hard fails, the cheat is rejected


@pytest.mark.slow
def test_ray_executor_gives_the_same_results(tmp_path: Path) -> None:
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    assert (
        main(
            [
                "prove",
                "--out",
                str(run),
                "--no-progress",
                *overrides(world, bench, "executor=ray", "executor.workers=2"),
            ]
        )
        == 0
    )
    assert statuses(run) == {
        "mathd_algebra_1": "proved",
        "amc12_and": "proved",
        "imo_hard": "failed",
        "induction_cheat": "unverified",
    }


def test_bad_input_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, bench = write_world(tmp_path)
    assert main(["prove", "--no-progress", *overrides(world, tmp_path / "missing.jsonl")]) == 2
    assert "benchmark file not found" in capsys.readouterr().err
    assert main(["prove", "--resume", str(tmp_path), "--no-progress"]) == 2
    assert "no config.yaml" in capsys.readouterr().err
    assert main(["data", "fetch", "nope"]) == 2
    assert "no dataset named 'nope'" in capsys.readouterr().err


def test_saved_trees_render(tmp_path: Path) -> None:
    """`--save-trees` leaves one graph per problem that `prover tree render` draws, proof path included."""
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    cmd = [
        "prove",
        "--out",
        str(run),
        "--no-progress",
        "--save-trees",
        *overrides(world, bench, "executor.workers=0"),
    ]
    assert main(cmd) == 0
    records = {r.problem: r for r in read_results(run / "results.jsonl").records}
    tree = Path(records["amc12_and"].tree)
    assert tree.parent == (run / "trees").resolve() and tree.is_file()
    assert len(list((run / "trees").glob("*.json"))) == len(records)
    png = tmp_path / "tree.png"
    assert main(["tree", "render", str(tree), "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_resume_keeps_saving_trees_of_a_run_started_with_save_trees(tmp_path: Path) -> None:
    """`prover prove --resume RUN` without `--save-trees` on a run that saves trees: the problems finished after
    the resume get their tree too (once, they silently had none)."""
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    cmd = [
        "prove",
        "--out",
        str(run),
        "--no-progress",
        "--save-trees",
        *overrides(world, bench, "executor.workers=0"),
    ]
    assert main(cmd) == 0
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["save_trees"] is True
    results = run / "results.jsonl"
    lines = results.read_text(encoding="utf-8").splitlines(keepends=True)
    results.write_text("".join(lines[:2]), encoding="utf-8")  # as if killed after two problems
    for tree in (run / "trees").glob("*.json"):
        tree.unlink()
    assert main(["prove", "--resume", str(run), "--no-progress"]) == 0
    records = read_results(results).records
    assert len(records) == len(lines)
    resumed = records[2:]
    assert resumed and all(r.tree and Path(r.tree).is_file() for r in resumed)
