"""`prover prove` fails loudly on setup errors, never poisons a run directory, and never orphans workers."""

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
from prover.evaluation.executors import EXIT_CLOSE_WAIT_S
from prover.evaluation.results import read_results
from tests.test_eval_end_to_end import HEADER, overrides, statuses, write_world

INLINE = "executor.workers=0"


def _prove(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["prove", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _one_clear_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("bad", "code", "needle"),
    [
        ("search.max_expansions=1O", 2, "max_expansions"),
        ("search.max_expantions=5", 2, "max_expantions"),
        ("+search.max_expantions=5", 2, "unknown key search.max_expantions"),
        ("benchmark.limit=abc", 2, "limit"),
        ("backend.world=/nonexistent/world.json", 2, "world"),
        ("generator=knn generator.corpus=/nonexistent/tactics.jsonl", 2, "nonexistent"),
        ("backend=repl", 1, "repl"),  # no `lake`/`repl` here, or a REPL that cannot start
    ],
)
def test_setup_error_stops_before_writing_and_a_corrected_retry_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, code: int, needle: str
) -> None:
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    choice, *more = bad.split()
    args = [*_replace_group(overrides(world, bench, INLINE, choice), choice), *more]
    got, _, err = _prove(capsys, "--out", str(run), *args)
    assert got == code
    assert needle in _one_clear_line(err).lower()
    assert not (run / "results.jsonl").exists()
    # the corrected command is accepted on the same --out
    got, _, err = _prove(capsys, "--out", str(run), *overrides(world, bench, INLINE))
    assert got == 0, err
    assert statuses(run)["amc12_and"] == "proved"


def _replace_group(args: list[str], choice: str) -> list[str]:
    """``args`` with the keys of the group that ``choice`` (e.g. ``backend=repl``) replaces dropped."""
    group, eq, _ = choice.partition("=")
    if "." in group or not eq:
        return args
    kept = [a for a in args if not a.lstrip("+").startswith((f"{group}.", f"{group}="))]
    return [*kept, choice]


def test_repl_that_cannot_start_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backend whose process exits at once is a setup error (exit 1), not 4 per-problem errors."""
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    crash = f"backend.command=[{sys.executable},-c,'import sys; sys.exit(3)']"
    args = _replace_group(overrides(world, bench, INLINE), "backend=repl")
    got, _, err = _prove(capsys, "--out", str(run), *args, crash, f"backend.project_dir={tmp_path}")
    assert got == 1, err
    ours = [line for line in err.splitlines() if line.startswith("prover prove:")]
    assert len(ours) == 1 and "did not start" in ours[0] and "exited with code 3" in ours[0]
    assert "Traceback" not in err
    assert not (run / "results.jsonl").exists()


def test_per_problem_errors_are_results_and_retry_errors_reruns_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, bench = write_world(tmp_path)
    extra = {
        "name": "ghost",
        "split": "test",
        "header": HEADER,
        "formal_statement": "theorem ghost : 1 = 1 := by sorry",
    }
    with bench.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(extra) + "\n")
    run = tmp_path / "run"
    got, out, err = _prove(capsys, "--out", str(run), *overrides(world, bench, INLINE))
    assert got == 0, err
    records = {r.problem: r for r in read_results(run / "results.jsonl").records}
    assert records["ghost"].status == "error" and records["ghost"].error
    done = json.loads(out.splitlines()[-1])
    assert done["errors"] == ["ghost"] and "--retry-errors" in err

    # plain resume skips it
    assert _prove(capsys, "--resume", str(run), INLINE)[0] == 0
    assert statuses(run)["ghost"] == "error"

    # the world learns the theorem; --retry-errors runs it again, one line per problem stays
    data = json.loads(world.read_text(encoding="utf-8"))
    data["theorems"].append(
        {"name": "ghost", "statement": "theorem ghost : 1 = 1", "header": HEADER, "goals": ["⊢ 1 = 1"]}
    )
    data["goals"]["⊢ 1 = 1"] = {"simp": {"goals": []}}
    world.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    got, out, err = _prove(capsys, "--resume", str(run), "--retry-errors", INLINE)
    assert got == 0, err
    names = [r.problem for r in read_results(run / "results.jsonl").records]
    assert len(names) == len(set(names)) == 5
    assert statuses(run)["ghost"] == "proved"
    assert "ghost" in (run / "errors-retried.jsonl").read_text(encoding="utf-8")
    resumes = json.loads((run / "run.json").read_text(encoding="utf-8"))["resumes"]
    assert len(resumes) == 2 and resumes[-1]["retried_errors"] == ["ghost"]


def test_a_second_process_on_a_locked_run_dir_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prover.evaluation.run_dir import RunDirLock

    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    assert _prove(capsys, "--out", str(run), "--limit", "1", *overrides(world, bench, INLINE))[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('locked', flush=True); time.sleep(60)",
            str(run / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = (run / "results.jsonl").read_bytes()
        got, _, err = _prove(capsys, "--resume", str(run), INLINE)
        assert got == 1 and "in use" in _one_clear_line(err)
        assert (run / "results.jsonl").read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    lock = RunDirLock(run)
    lock.acquire()  # free again once the holder is gone
    lock.release()


def test_user_input_paths_give_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, bench = write_world(tmp_path)
    base = overrides(world, bench, INLINE)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    for out in (a_file, a_file / "run"):
        got, _, err = _prove(capsys, "--out", str(out), *base)
        assert got == 2, (out, err)
        _one_clear_line(err)
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    got, _, err = _prove(capsys, "--resume", str(not_a_run))
    assert got == 2 and "not a run directory" in _one_clear_line(err)
    got, _, err = _prove(capsys, "--resume", str(a_file))
    assert got == 2 and "not a run directory" in _one_clear_line(err)
    for bad in ("search.max_expansions", "search.max_expansions=[1"):
        got, _, err = _prove(capsys, "--out", str(tmp_path / "r"), *base, bad)
        assert got == 2, err
        _one_clear_line(err)

    run = tmp_path / "run"
    assert _prove(capsys, "--out", str(run), "--limit", "1", *base)[0] == 0
    good = (run / "config.yaml").read_bytes()
    (run / "config.yaml").write_text("benchmark: [unclosed\n  search: {", encoding="utf-8")
    got, _, err = _prove(capsys, "--resume", str(run))
    assert got == 2 and "corrupt" in _one_clear_line(err)
    (run / "config.yaml").write_bytes(good)
    (run / "results.jsonl").write_bytes(b"{not json\n" + (run / "results.jsonl").read_bytes())
    got, _, err = _prove(capsys, "--resume", str(run))
    assert got == 2 and "corrupt result line" in _one_clear_line(err)
    (run / "config.yaml").write_bytes(b"\xff\xfe not utf-8")
    got, _, err = _prove(capsys, "--resume", str(run))
    assert got == 2
    _one_clear_line(err)


def test_options_after_overrides_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    base = overrides(world, bench, INLINE)
    code = main(["prove", base[0], "--out", str(run), *base[1:], "--limit", "2", "--no-progress"])
    capsys.readouterr()
    assert code == 0 and len(statuses(run)) == 2
    with pytest.raises(SystemExit) as exc:
        main(["prove", base[0], "--out", str(tmp_path / "r2"), "--bogus", *base[1:]])
    assert exc.value.code == 2 and "--bogus" in capsys.readouterr().err


def test_tree_files_are_safe_for_long_and_slashed_ids(tmp_path: Path) -> None:
    from prover.evaluation.runner import save_tree, tree_file_name

    ids = ["a/b", "a_b", "x" * 400, "x" * 400 + "y", "../../etc/passwd", "é/ü"]
    names = [tree_file_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert all(len(n.encode()) <= 120 and "/" not in n and not n.startswith(".") for n in names)
    for problem_id in ids:
        path = Path(save_tree(tmp_path / "trees", problem_id, {"problem": problem_id}))
        assert path.parent == tmp_path / "trees"
        assert json.loads(path.read_text(encoding="utf-8"))["problem"] == problem_id


def test_long_problem_id_keeps_its_tree_and_proof(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, bench = write_world(tmp_path)
    long_name = "mathd_algebra_1" + "_x" * 150
    for path in (world, bench):
        path.write_text(
            path.read_text(encoding="utf-8").replace("mathd_algebra_1", long_name), encoding="utf-8"
        )
    run = tmp_path / "run"
    got, _, err = _prove(capsys, "--out", str(run), "--save-trees", *overrides(world, bench, INLINE))
    assert got == 0, err
    record = {r.problem: r for r in read_results(run / "results.jsonl").records}[long_name]
    assert record.status == "proved" and Path(record.tree).is_file()


def test_model_load_is_kept_out_of_the_first_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import prover.generation.factory as factory

    real = factory.make_generator

    def slow_load(*args, **kwargs):
        time.sleep(0.6)
        return real(*args, **kwargs)

    monkeypatch.setattr(factory, "make_generator", slow_load)
    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    got, out, err = _prove(capsys, "--out", str(run), *overrides(world, bench, INLINE))
    assert got == 0, err
    meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert meta["load_s"] >= 0.6
    records = read_results(run / "results.jsonl").records
    assert max(r.time_s for r in records) < 0.5  # loaded once, in the preflight, never inside a problem


def test_executor_error_records_carry_the_settings_budget(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from prover.config import compose
    from prover.evaluation.benchmarks import load_path
    from prover.evaluation.executors import JobOutcome, WorkerSpec
    from prover.evaluation.results import ResultStore
    from prover.evaluation.runner import WORKER_FACTORY, run_problems
    from prover.search.settings import search_settings

    world, bench = write_world(tmp_path)
    cfg = compose(overrides(world, bench, "search.num_sampled_tactics=3", "search.attempts=2"))
    container = OmegaConf.to_container(cfg, resolve=True)

    class Dying:
        def run(self, spec, jobs):
            for job in jobs:
                yield JobOutcome(job, error="worker process died (crash or out of memory)")

    problems = load_path(bench).problems
    with ResultStore(tmp_path) as store:
        run_problems(problems, store, WorkerSpec(WORKER_FACTORY, container), Dying(), {})
    expected = search_settings(container["search"]).budget
    assert {r.budget for r in read_results(tmp_path / "results.jsonl").records} == {expected} == {"2×3×10"}


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int]) -> list[int]:
    import psutil

    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _driver(run: Path, world: Path, bench: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prover.cli.main",
        "prove",
        "--no-progress",
        "--out",
        str(run),
        *overrides(world, bench, "executor.workers=2", *more),
    ]


def _wait_for_lines(results: Path, n: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if results.is_file() and results.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{results} never reached {n} lines")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "in_process"),
    [(signal.SIGKILL, "true"), (signal.SIGTERM, "true"), (signal.SIGKILL, "false")],
    ids=["kill-9", "sigterm", "kill-9-with-repl-servers"],
)
def test_workers_die_with_the_driver(tmp_path: Path, sig: signal.Signals, in_process: str) -> None:
    """Every descendant of the driver (pool workers, and with a world server their REPL processes) dies with it."""
    pytest.importorskip("psutil")
    world, bench = write_world(tmp_path, extra=30, delay_ms=300)
    run = tmp_path / "run"
    cmd = _driver(run, world, bench, f"++backend.in_process={in_process}")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = run / "results.jsonl"
    _wait_for_lines(results, 2)
    workers = _children(proc.pid)
    assert len(workers) >= (2 if in_process == "true" else 4), "the pool should be running"
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    # a pool process gives its worker EXIT_CLOSE_WAIT_S to close, then exits; its REPLs die with it (reaper /
    # bwrap --die-with-parent). Allow that plus a loaded CI machine's slack: a leak outlives any deadline.
    deadline = time.monotonic() + EXIT_CLOSE_WAIT_S + 15
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(workers) == [], "executor workers outlived their driver"
    if sig == signal.SIGTERM:
        assert proc.returncode == 130
    kept = read_results(results).records
    assert len(kept) >= 2 and len({r.problem for r in kept}) == len(kept)


@pytest.mark.slow
def test_two_concurrent_resumes_never_duplicate(tmp_path: Path) -> None:
    world, bench = write_world(tmp_path, extra=20, delay_ms=400)
    run = tmp_path / "run"
    first = subprocess.Popen(_driver(run, world, bench), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_lines(run / "results.jsonl", 1)
    first.kill()
    first.wait()
    start = len(read_results(run / "results.jsonl").records)
    resume = [sys.executable, "-m", "prover.cli.main", "prove", "--no-progress", "--resume", str(run)]
    a = subprocess.Popen(resume, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for_lines(run / "results.jsonl", start + 1)
    b = subprocess.run(resume, capture_output=True, text=True, timeout=120)
    assert b.returncode == 1 and "in use" in b.stderr and "Traceback" not in b.stderr
    assert a.wait(timeout=120) == 0
    names = [r.problem for r in read_results(run / "results.jsonl").records]
    assert len(names) == len(set(names)) == 24
