"""``prover solve``: a run on a scripted world behind the real REPL client, kill and resume, the report, and
``--check``; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.evaluation.results import read_results

WORLDS = Path(__file__).parent / "data" / "worlds"
TACTICS = (
    'generator.tactics=[{tactic: rfl, logprob: -0.1}, {tactic: "show 5 + k ≤ k + 10", logprob: -0.5}, '
    "{tactic: omega, logprob: -1.0}]"
)
BASE = [
    "backend=scripted",
    f"backend.world={WORLDS / 'fps_world.json'}",
    "backend.tactic_timeout_s=1",
    "generator=fixed",
    TACTICS,
    "benchmark=local",
    f"benchmark.path={WORLDS / 'fps_problems.jsonl'}",
    "solver.preflight_formal_answers=false",
    "solver.normal_form_probe=false",
    "executor.workers=0",
    "search.max_expansions=10",
]


def _events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_solve_run_kill_resume_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    run_dir = tmp_path / "run"
    assert main(["solve", "--out", str(run_dir), "--limit", "2", *BASE]) == 0
    events = _events(capsys.readouterr().out)
    assert [e.get("status") for e in events if e["event"] == "problem"] == ["solved", "ne_submitted"]
    # Proven is the separate ground-truth proving run: `omega` proves `wrong`'s, nothing here `solved`'s
    assert [e["proven"] for e in events if e["event"] == "problem"] == [False, True]
    # a kill in the middle of writing the third line leaves a torn tail: resume cuts it and goes on
    with (run_dir / "results.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"problem": "restated", "sta')
    assert main(["solve", "--resume", str(run_dir), "executor.workers=0"]) == 0
    events = _events(capsys.readouterr().out)
    assert events[0]["already_finished"] == 2
    done = events[-1]
    assert done["event"] == "done" and done["total"] == 2  # the saved selection (--limit 2) is kept
    assert "no Lean ran" in done["simulation"]  # issue 24: the done event names the simulation too
    records = read_results(run_dir / "results.jsonl").records
    assert [r.problem for r in records] == ["solved", "wrong"]
    assert records[0].status == "proved" and records[0].answer["answer"] == "(9 : ℕ)"
    assert records[1].status == "failed" and records[1].answer["status"] == "ne_submitted"
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "| 1 (50.00%) | 1 (50.00%) |" in report
    assert (
        "| Solved | NE-Submitted | Proven |\n|---|---|---|\n| 1 (50.00%) | 1 (50.00%) | 1 (50.00%) |"
        in report
    )
    assert report.count("**Simulation:**") == 1 and "a simulation, not Lean" in report  # issue 24
    assert "| wrong | ne_submitted | yes | `(5 : ℕ)` | `answer = 3` |" in report


@pytest.mark.slow
def test_solve_all_five_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["solve", "--out", str(tmp_path / "r"), *BASE]) == 0
    done = _events(capsys.readouterr().out)[-1]
    assert (done["solved"], done["ne_submitted"], done["restated"], done["total"]) == (1, 2, 1, 5)
    statuses = {r.problem: r.answer["status"] for r in read_results(tmp_path / "r" / "results.jsonl").records}
    assert statuses == {
        "solved": "solved",
        "wrong": "ne_submitted",
        "restated": "ne_submitted",
        "slow": "unsubmitted",
        "crashy": "unsubmitted",
    }
    # `prover report RUN_DIR` on a solve run rewrites the FPS report (not the generic proving columns)
    (tmp_path / "r" / "report.md").unlink()
    assert main(["report", str(tmp_path / "r")]) == 0
    shown = _events(capsys.readouterr().out)[0]
    assert shown["kind"] == "solve" and (shown["solved"], shown["proven"], shown["total"]) == (1, 1, 5)
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert (
        "| Solved | NE-Submitted | Proven |" in report and "| restated | ne_submitted | no | `n` |" in report
    )
    assert main(["report", str(tmp_path / "r"), "--out", str(tmp_path / "x")]) == 2
    assert "report.md" in capsys.readouterr().err


def test_check_one_answer(capsys: pytest.CaptureFixture[str]):
    args = ["solve", "--check", "--problem", str(WORLDS / "fps_problems.jsonl"), "--id", "solved"]
    world = [
        "backend=scripted",
        f"backend.world={WORLDS / 'fps_world.json'}",
        "solver.normal_form_probe=false",
    ]
    assert main([*args, "--answer", "(9 : ℕ)", *world]) == 0
    good = _events(capsys.readouterr().out)[0]
    assert good["correct"] is True and good["dropped_tactics"] == ["rw_search"]
    assert good["judge"] == "simulation"  # the judge decided RPE, not the session's answer (issue 19)
    assert main([*args, "--answer", "(8 : ℕ)", *world]) == 0
    assert _events(capsys.readouterr().out)[0]["correct"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "--check", "--answer", "1"], "--check needs --problem"),
        (["solve", "--check", "--problem", "{not json", "--answer", "1"], "not JSON"),
        (["solve", "--check", "--problem", '{"outros": []}', "--answer", "1"], "--problem:"),
        (["solve", "--check", "--problem", "/nonexistent.jsonl", "--answer", "1"], "--problem"),
        (["solve", "--answer", "1"], "go with --check"),
        (["solve", "--retry-errors"], "--retry-errors needs --resume"),
        (["solve", "--check", "--retry-errors", "--problem", "{}", "--answer", "1"], "do not apply"),
        (
            [
                "solve",
                "solver.backward_search={max_expansionz: 3}",
                "benchmark=local",
                f"benchmark.path={WORLDS / 'fps_problems.jsonl'}",
            ],
            "max_expansionz",
        ),
        (["solve", "benchmark=samples"], "no FPS problem could be read"),
        (["solve", "benchmark=minif2f"], "not an FPS benchmark"),
        (["solve", "benchmark=local", "benchmark.path=/nonexistent.jsonl"], "benchmark:"),
        (
            [
                "solve",
                "solver.rpe_tactics=[sorry]",
                "benchmark=local",
                f"benchmark.path={WORLDS / 'fps_problems.jsonl'}",
            ],
            "solver.rpe_tactics",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys: pytest.CaptureFixture[str]):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_solve_shares_the_prove_lifecycle_pool_retry_and_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """`prover solve` is `prover prove`'s run (one prepare): a process pool whose preflight ran in its worker,
    `--retry-errors` on resume, run.json with the solver settings, the lock naming the command."""
    from prover.evaluation.run_dir import RunDirLock

    run_dir = tmp_path / "run"
    base = [a for a in BASE if a != "executor.workers=0"]
    assert (
        main(["solve", "--out", str(run_dir), "--limit", "1", "--no-progress", *base, "executor.workers=1"])
        == 0
    )
    events = _events(capsys.readouterr().out)
    assert [e.get("status") for e in events if e["event"] == "problem"] == ["solved"]
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["solver"]["mode"] == "fps" and "scripted world" in meta["backend"]
    lock = RunDirLock(run_dir)
    lock.acquire()
    try:
        assert main(["solve", "--resume", str(run_dir), "--retry-errors"]) == 1
        assert "in use by another `prover solve`" in capsys.readouterr().err
    finally:
        lock.release()
    assert main(["solve", "--resume", str(run_dir), "--retry-errors", "executor.workers=0"]) == 0
    start = _events(capsys.readouterr().out)[0]
    assert start["already_finished"] == 1 and start["retrying"] == []


def test_check_answers_lists_the_ground_truths_that_do_not_elaborate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`prover solve --check-answers`: every formal_answer pre-flighted before a run, the bad ones listed."""
    world = json.loads((WORLDS / "fps_world.json").read_text(encoding="utf-8"))
    world["commands"] = [
        {
            "contains": "Prop :=\n(\nanswer = 3\n)",
            "messages": [{"severity": "error", "data": "unknown constant"}],
        },
        {"contains": ": Prop :=", "messages": []},  # every other formal_answer elaborates
        *world.get("commands", []),
    ]
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    args = [
        "solve",
        "--check-answers",
        "--no-progress",
        "backend=scripted",
        f"backend.world={path}",
        "benchmark=local",
        f"benchmark.path={WORLDS / 'fps_problems.jsonl'}",
    ]
    assert main(args) == 0
    events = _events(capsys.readouterr().out)
    assert [e["problem"] for e in events[:-1]] == ["wrong"]
    assert "unknown constant" in events[0]["reason"] and events[0]["elaborates"] is False
    assert events[-1] == {"event": "formal_answers", "checked": 5, "invalid": 1, "skipped_when_loading": 0}
    assert main([*args, "--check"]) == 2
    assert "two different modes" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "r")]) == 2
    assert "writes no run" in capsys.readouterr().err


def test_the_solve_report_asks_is_simulation_of_run_json(tmp_path: Path) -> None:
    """Issue 24: the report's simulation notice follows ``is_simulation`` of the run (the one test that
    ``prover prove`` uses too): a run judged by ``simulation`` says so even where its backend line does not."""
    from prover.fps.report import write_solve_report

    meta = {"backend": "scripted world w.json", "lean": None, "mathlib": None, "judge": "simulation"}
    (tmp_path / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    (tmp_path / "results.jsonl").write_text("", encoding="utf-8")
    path, _ = write_solve_report(tmp_path)
    assert (
        path.read_text(encoding="utf-8").splitlines()[2].startswith("**Simulation:** backend scripted world")
    )
    meta.update(backend="repl", lean="4.24.0", mathlib="v4.24.0", judge="repl")
    (tmp_path / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    assert "imulation" not in write_solve_report(tmp_path)[0].read_text(encoding="utf-8")
