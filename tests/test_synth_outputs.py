"""What a synthesis run tells its user (issue 24): every output of a run on a scripted world names the
simulation (summary, records, ``.lean`` files, ``run.json``, the CLI's lines), long runs show progress without
``-v`` and are quiet with ``--no-progress``, and SIGTERM ends ``prover synth mustard`` with one sentence."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from prover import progress
from prover.cli.main import main
from prover.evaluation.versions import SIMULATION_NOTE, is_simulation
from prover.lean.doubles.session import WorldSession
from prover.synthesis.alchemy import run_alchemy
from prover.synthesis.fake_endpoint import FakeEndpoint
from prover.synthesis.run_progress import SynthProgress
from prover.synthesis.summary import markdown

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests/data/synth/world.json"
GOAL = "n : ℕ\nh : 0 < n\n⊢ 1 ≤ n"
GOOD = (
    (REPO / "tests/test_synth_mustard.py").read_text(encoding="utf-8").split('GOOD = """')[1].split('"""')[0]
)


@pytest.fixture(autouse=True)
def _progress_back_on():
    """``main`` sets the process-wide progress switch; every test starts (and ends) with it on."""
    progress.set_enabled(True)
    yield
    progress.set_enabled(True)


def _mustard_args(ep: FakeEndpoint, out: Path, *extra: str, world: Path = WORLD) -> list[str]:
    return [
        "synth", "mustard", "--out", str(out), "--num", "3",
        "backend=scripted", f"backend.world={world}", "backend.in_process=true",
        f"synth.llm.base_url={ep.base_url}", "synth.llm.model=fake", "synth.llm.retries=0",
        "synth.fixed_concepts=[\"Bezout's identity\"]", *extra,
    ]  # fmt: skip


def _alchemy_args(tmp_path: Path, *extra: str) -> list[str]:
    shared = _alchemy_world()
    w = tmp_path / "w.json"
    w.write_text(shared.world().model_dump_json(), encoding="utf-8")
    targets = tmp_path / "t.jsonl"
    targets.write_text(json.dumps(shared.TARGET.__dict__) + "\n", encoding="utf-8")
    rules = tmp_path / "r.jsonl"
    lines = [json.dumps({"name": r.name, "type": r.type}) + "\n" for r in shared.RULES]
    rules.write_text("".join(lines), encoding="utf-8")
    return ["synth", "alchemy", "--out", str(tmp_path / "run"), "backend=scripted", f"backend.world={w}",
            "backend.in_process=true", f"synth.targets={targets}", f"synth.rules={rules}", *extra]  # fmt: skip


def _alchemy_world() -> Any:
    """``test_synth_alchemy.py``'s world, target and rules (tests/ is no package: loaded by its path)."""
    spec = importlib.util.spec_from_file_location("synth_alchemy_world", REPO / "tests/test_synth_alchemy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


# --- "simulation" in every output --------------------------------------------------------------------------------
def test_every_output_of_a_mustard_run_on_a_scripted_world_names_the_simulation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with FakeEndpoint([], default=GOOD) as ep:
        assert main(_mustard_args(ep, out)) == 0
    printed = capsys.readouterr()
    assert printed.err.startswith("prover synth mustard: SIMULATION: scripted world ")
    final = json.loads(printed.out.strip().splitlines()[-1])
    assert final["verified"] == 3 and final["simulation"].endswith(f"({SIMULATION_NOTE}): no Lean ran")
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert is_simulation(meta) and meta["judge"] == "simulation"  # the judge is named, not only the backend
    records = _jsonl(out / "samples.jsonl")
    assert len(records) == 3 and all(is_simulation(r) and r["judge"] == "simulation" for r in records)
    summary = (out / "summary.md").read_text(encoding="utf-8").splitlines()
    assert summary[2].startswith("**Simulation:** 3 of 3 samples were checked by scripted world ")
    assert SIMULATION_NOTE in summary[2]


def test_the_mustard_summary_counts_simulated_samples_and_says_nothing_of_a_run_on_lean() -> None:
    lean = {"verdict": "verified", "level": "L", "domain": "D", "backend": "repl", "lean": "4.24.0"}
    scripted = {**lean, "backend": f"scripted world w.json ({SIMULATION_NOTE})", "lean": None}
    assert "imulation" not in markdown([lean, lean])
    # a run resumed on another backend: the summary says how many of its samples were simulated
    mixed = markdown([lean, scripted])
    assert (
        f"**Simulation:** 1 of 2 samples were checked by scripted world w.json ({SIMULATION_NOTE});" in mixed
    )
    # a record that names only the simulation judge still counts, and the note is added to its backend
    judged = markdown([{**lean, "backend": "scripted world w.json", "judge": "simulation"}])
    assert f"checked by scripted world w.json ({SIMULATION_NOTE});" in judged


def test_every_output_of_an_alchemy_run_on_a_scripted_world_names_the_simulation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_alchemy_args(tmp_path)) == 0
    printed = capsys.readouterr()
    assert printed.err.startswith("prover synth alchemy: SIMULATION: scripted world ")
    final = json.loads(printed.out.strip().splitlines()[-1])
    assert final["verified"] == 2 and final["judge"] == "simulation" and "no Lean ran" in final["simulation"]
    run = tmp_path / "run"
    meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert is_simulation(meta) and meta["judge"] == "simulation" and meta["settings"]["prefilter"] is True
    assert all(is_simulation(r) for r in _jsonl(run / "targets.jsonl"))
    tactics = _jsonl(run / "tactics.jsonl")
    assert len(tactics) == 5 and all(SIMULATION_NOTE in t["backend"] for t in tactics)
    lean = (run / "variants.lean").read_text(encoding="utf-8")
    assert lean.startswith("import Mathlib\n\n-- SIMULATION: these variants were checked by scripted world ")
    assert lean.count("theorem t1_alchemy_") == 2
    counts = json.loads((run / "counts.json").read_text(encoding="utf-8"))
    assert counts["verified"] == 2 and SIMULATION_NOTE in counts["simulation"]
    # a resume keeps run.json (the first invocation's) and notes the resume there
    assert main(_alchemy_args(tmp_path)) == 0
    assert len(json.loads((run / "run.json").read_text(encoding="utf-8"))["resumes"]) == 1


def test_an_alchemy_run_checked_by_lean_names_no_simulation(tmp_path: Path) -> None:
    shared = _alchemy_world()
    versions = {"backend": "repl", "lean": "4.24.0", "mathlib": "v4.24.0", "judge": "repl"}
    run = tmp_path / "run"
    session = WorldSession(shared.world())
    counts, _ = run_alchemy(session, [shared.TARGET], shared.RULES, run, {}, versions=versions, command=["x"])
    assert counts.verified == 2
    assert "SIMULATION" not in (run / "variants.lean").read_text(encoding="utf-8")
    assert "simulation" not in json.loads((run / "counts.json").read_text(encoding="utf-8"))
    assert {t["backend"] for t in _jsonl(run / "tactics.jsonl")} == {"repl"}
    meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert not is_simulation(meta) and meta["command"] == ["x"] and meta["lean"] == "4.24.0"


# --- progress -----------------------------------------------------------------------------------------------------
def test_mustard_shows_progress_without_v_and_is_quiet_with_no_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeEndpoint([], default=GOOD) as ep:
        assert main(_mustard_args(ep, tmp_path / "a")) == 0
        err = capsys.readouterr().err
        assert "prover synth mustard: 3 of 3 samples to write (1 worker)" in err
        assert "prover synth mustard: 3/3 samples, 3 verified\n" in err
        # a resume with more samples counts what the first invocation wrote
        assert main([*_mustard_args(ep, tmp_path / "a"), "--num", "4"]) == 0
        err = capsys.readouterr().err
        assert "1 of 4 samples to write, 3 done before" in err and "4/4 samples, 4 verified" in err
        assert main([*_mustard_args(ep, tmp_path / "b"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "samples to write" not in err and "verified" not in err
    assert "SIMULATION" in err  # not progress: said even with --no-progress


def test_alchemy_shows_progress_without_v_and_is_quiet_with_no_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert main(_alchemy_args(tmp_path / "a")) == 0
    err = capsys.readouterr().err
    assert "prover synth alchemy: 1 of 1 targets to mutate (4 rules)" in err
    assert "prover synth alchemy: 1/1 targets, 2 verified variants\n" in err
    assert main(_alchemy_args(tmp_path / "b", "--no-progress")) == 0
    err = capsys.readouterr().err
    assert "targets" not in err and "SIMULATION" in err


def test_alchemy_says_when_it_encodes_its_rules_for_dense_ranking(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prover.retrieval.encoder as encoder
    from prover.synthesis.alchemy import Rule
    from prover.synthesis.alchemy_rank import DenseRuleRanker, make_ranker
    from prover.synthesis.settings import AlchemySettings

    built: list[int] = []
    monkeypatch.setattr(encoder, "load_encoder", lambda name, device="cpu": f"encoder {name}")
    monkeypatch.setattr(
        DenseRuleRanker, "from_rules", classmethod(lambda cls, rules, enc: built.append(len(rules)))
    )
    make_ranker(AlchemySettings(rank="dense"), [Rule("a", "1 = 1"), Rule("b", "2 = 2")])
    err = capsys.readouterr().err.splitlines()
    assert (
        built == [2]
        and err[0] == "prover synth alchemy: encoding 2 rules with minilm to rank them (rank=dense)"
    )
    assert err[1].startswith("prover synth alchemy: 2 rules encoded in ")
    progress.set_enabled(False)
    make_ranker(AlchemySettings(rank="dense"), [Rule("a", "1 = 1")])
    assert capsys.readouterr().err == ""


def test_run_progress_lines_are_throttled_and_always_end_with_the_last_item(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prover.synthesis.run_progress as run_progress

    clock = [100.0]
    monkeypatch.setattr(run_progress, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    shown = SynthProgress("synth test", 5, "items", done=1, every_s=5.0)
    shown.begin()
    for step in (1.0, 5.0, 1.0, 1.0):  # items 2..5 finish at t = 101, 106, 107, 108
        clock[0] += step
        shown.advance("k verified")
    assert capsys.readouterr().err.splitlines() == [
        "prover synth test: 4 of 5 items to write, 1 done before",
        # 5 s since the last line: 2 new items in 6 s, so the 2 left take ~6 s (earlier items are not in the rate)
        "prover synth test: 3/5 items, k verified (~6 s left)",
        "prover synth test: 5/5 items, k verified",  # the last item always has its line
    ]
    progress.set_enabled(False)
    SynthProgress("synth test", 1, "items").advance("x")
    assert capsys.readouterr().err == ""


# --- SIGTERM ------------------------------------------------------------------------------------------------------
def _slow_world(tmp_path: Path, delay_ms: int) -> Path:
    world = json.loads(WORLD.read_text(encoding="utf-8"))
    world["goals"][GOAL]["omega"]["delay_ms"] = delay_ms
    path = tmp_path / "slow-world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return path


def _terminate_mid_run(tmp_path: Path, workers: int) -> None:
    out = tmp_path / "run"
    with FakeEndpoint([], default=GOOD) as ep:
        args = [
            *_mustard_args(ep, out, f"synth.workers={workers}", world=_slow_world(tmp_path, 500)),
            "--num",
            "20",
        ]
        args.remove("backend.in_process=true")
        proc = subprocess.Popen(
            [sys.executable, "-m", "prover.cli.main", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            samples = out / "samples.jsonl"
            while not (samples.is_file() and samples.read_bytes().count(b"\n") >= 1):
                assert proc.poll() is None and time.monotonic() < deadline, "the run ended before SIGTERM"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, err
    assert err.splitlines()[-1] == "prover synth: terminated (SIGTERM); finished results are kept"
    assert "Traceback" not in err
    kept = _jsonl(out / "samples.jsonl")
    assert 1 <= len(kept) < 20 and all(r["verdict"] == "verified" for r in kept)


def test_sigterm_ends_synth_mustard_with_one_sentence_and_keeps_finished_samples(tmp_path: Path) -> None:
    _terminate_mid_run(tmp_path, workers=1)


@pytest.mark.slow
def test_sigterm_ends_synth_mustard_with_workers_with_one_sentence(tmp_path: Path) -> None:
    _terminate_mid_run(tmp_path, workers=2)
