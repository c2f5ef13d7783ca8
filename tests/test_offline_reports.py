"""Issue 9 §4: the offline main job (scripted samples world), truthful versions, reports, trees, README claims."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from prover.config import REPO_ROOT, compose
from prover.evaluation.manifest import load_manifest, warn_version_mismatch
from prover.evaluation.report import load_run, markdown, write_report
from prover.evaluation.results import AttemptRecord, read_results
from prover.evaluation.versions import describe_versions, lake_manifest_mathlib, run_versions
from prover.lean.doubles.session import WorldSession
from prover.lean.doubles.world import World
from prover.lean.protocol import Response
from prover.lean.session import lean_version_from
from prover.lean.types import TacticError, TacticState, Theorem

SAMPLES_WORLD = REPO_ROOT / "datasets" / "samples" / "world.json"
SAMPLES = REPO_ROOT / "datasets" / "samples" / "theorems.jsonl"


def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "prover.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


# --- 1. the samples world and config paths -------------------------------------------------------------------
def test_samples_world_covers_every_sample_theorem() -> None:
    world = World.load(SAMPLES_WORLD)
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        statement = entry["formal_statement"].rsplit(":= by", 1)[0].strip()
        spec = world.find_theorem(statement=statement)
        assert spec is not None and spec.name == entry["name"], entry["name"]


def test_config_paths_do_not_depend_on_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "datasets" / "samples").mkdir(parents=True)  # a decoy beside the cwd must not be picked
    (tmp_path / "datasets" / "samples" / "theorems.jsonl").write_text("garbage\n", encoding="utf-8")
    cfg = compose(["benchmark=samples", "backend=scripted"])
    assert Path(cfg.benchmark.path) == SAMPLES.resolve()
    assert Path(cfg.backend.world) == SAMPLES_WORLD.resolve()


@pytest.mark.slow
def test_offline_main_job_prove_resume_report_tree_from_another_directory(tmp_path: Path) -> None:
    """The README's offline path, run from a directory that is not the repository: no Lean anywhere."""
    run = tmp_path / "run"
    proc = cli("prove", "benchmark=samples", "backend=scripted", "--out", str(run), "--save-trees",
               "--no-progress", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = read_results(run / "results.jsonl").records
    status = {r.problem: r.status for r in records}
    assert len(status) == 8 and "error" not in status.values(), status
    assert sum(s == "proved" for s in status.values()) >= 5
    assert status["sample_even_sq"] == "failed"  # scripted so that the kNN generator cannot find the proof
    meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert "scripted world" in meta["backend"] and meta["lean"] is None and meta["mathlib"] is None

    # resume after losing the last lines: only the missing problems run again
    lines = (run / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (run / "results.jsonl").write_text("".join(lines[:3]), encoding="utf-8")
    proc = cli("prove", "--resume", str(run), "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = read_results(run / "results.jsonl").records
    assert sorted(r.problem for r in again) == sorted(status) and len(again) == 8

    proc = cli("report", str(run), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = (run / "report" / "report.md").read_text(encoding="utf-8")
    assert "simulation, not Lean" in report and "v4.24.0" not in report
    assert "`sample_even_sq` | failed" in report

    tree = next((run / "trees").glob("sample_and_comm-*.json"))
    proc = cli("tree", "render", str(tree), "-o", str(tmp_path / "t.svg"), cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "t.svg").stat().st_size > 0, proc.stderr[-2000:]


# --- 2. versions of what actually ran -------------------------------------------------------------------------
def test_version_answer_is_read_from_lean_and_unknown_otherwise() -> None:
    info = {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None, "data": '"4.24.0"'}
    assert lean_version_from(Response.from_json({"env": 1, "messages": [info]})) == "4.24.0"
    err = {**info, "severity": "error", "data": "unknown identifier"}
    assert lean_version_from(Response.from_json({"env": 1, "messages": [err]})) == "unknown"
    assert lean_version_from(Response.from_json({"message": "scripted world: unsupported"})) == "unknown"


def test_scripted_runs_name_the_world_and_claim_no_lean() -> None:
    versions = run_versions({"name": "scripted", "world": str(SAMPLES_WORLD)})
    assert versions["lean"] is None and versions["mathlib"] is None
    assert str(SAMPLES_WORLD) in versions["backend"] and "simulation" in versions["backend"]
    with WorldSession(SAMPLES_WORLD) as session:
        assert session.describe()["backend"] == f"scripted world {SAMPLES_WORLD}"
    assert "no Lean ran" in describe_versions(versions)


def test_repl_versions_come_from_the_session_and_the_lake_manifest(tmp_path: Path) -> None:
    manifest = {"version": 7, "packages": [{"name": "mathlib", "rev": "abc123", "inputRev": "v4.19.0"}]}
    (tmp_path / "lake-manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert lake_manifest_mathlib(tmp_path) == "v4.19.0"
    assert lake_manifest_mathlib(tmp_path / "nowhere") is None

    class Asked:
        def describe(self) -> dict[str, Any]:
            return {"backend": "repl", "lean": "4.19.0", "project_dir": str(tmp_path), "sandbox": "bwrap"}

    cfg = {"name": "repl", "project_dir": str(tmp_path)}
    versions = run_versions(cfg, Asked(), judge="repl")
    assert versions == {
        "backend": "repl",
        "lean": "4.19.0",
        "mathlib": "v4.19.0",
        "judge": "repl",
        "sandbox": "bwrap",
    }
    assert describe_versions(versions).endswith("; judge repl, sandbox bwrap")  # every report names both
    assert run_versions(cfg, None)["lean"] == "unknown"  # never the pinned lean-toolchain text


def test_repl_client_over_a_world_server_reports_unknown_lean() -> None:
    """The REPL backend really sends the version command; a world server is no Lean and cannot answer it."""
    from prover.lean.factory import make_session

    with make_session({"name": "scripted", "world": str(SAMPLES_WORLD)}) as session:
        described = session.describe()
    assert described["backend"] == "repl" and described["lean"] == "unknown"


def test_session_base_class_defaults_to_unknown() -> None:
    from prover.lean.session import LeanSession

    class Bare(LeanSession):
        def _start(self, theorem: Theorem) -> Any: ...
        def _run_tactic(self, state: TacticState, tactic: str) -> Any: ...
        def _verify(self, theorem: Theorem, proof: str) -> Any: ...

    assert Bare().describe() == {"backend": "Bare", "lean": "unknown", "mathlib": "unknown"}


# --- 5. run_tactic(s) reject what start() returns on failure ----------------------------------------------------
def test_run_tactics_rejects_a_non_state_with_a_clear_type_error() -> None:
    with WorldSession(SAMPLES_WORLD) as session:
        root = session.start(Theorem("nope", "theorem nope : False"))
        assert isinstance(root, TacticError)
        with pytest.raises(TypeError, match="expected a TacticState, got TacticError"):
            session.run_tactics([(root, "simp")])
        with pytest.raises(TypeError, match="expected a TacticState, got TacticError"):
            session.run_tactic(root, "simp")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="got str"):
            session.run_tactics(["simp"])  # type: ignore[list-item]
        good = session.start(Theorem("sample_add_zero", "theorem sample_add_zero (n : ℕ) : n + 0 = n"))
        assert isinstance(good, TacticState)
        with pytest.raises(TypeError, match="tactic as a str"):
            session.run_tactic(good, None)  # type: ignore[arg-type]


# --- 4. benchmark versions and the pinned dojo commit ---------------------------------------------------------
def test_benchmarks_of_another_lean_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    manifest = load_manifest()
    assert manifest.get("minif2f").version_warning("v4.24.0") is None
    assert "v4.9.0" in (manifest.get("minif2f_deepseek").version_warning("v4.24.0") or "")
    assert "v4.15.0" in (manifest.get("fps_formal_math500").version_warning("leanprover/lean4:v4.24.0") or "")
    entry = manifest.get("minif2f_deepseek").model_copy(update={"name": "deepseek_copy_for_test"})
    with caplog.at_level(logging.WARNING):
        assert warn_version_mismatch(entry, "v4.24.0")
        assert warn_version_mismatch(entry, "v4.24.0")
    assert sum("v4.9.0" in r.getMessage() for r in caplog.records) == 1


def test_dojo_backend_is_pinned_and_refuses_a_branch() -> None:
    from prover.errors import ConfigError
    from prover.lean.factory import check_backend_config

    shipped = yaml.safe_load((REPO_ROOT / "configs" / "backend" / "dojo.yaml").read_text(encoding="utf-8"))
    assert re.fullmatch(r"[0-9a-f]{40}", shipped["commit"])
    with pytest.raises(ConfigError, match="branch name floats"):
        check_backend_config({**shipped, "commit": "main"})


# --- 3. reports -------------------------------------------------------------------------------------------------
def write_run(
    path: Path, records: list[dict[str, Any]], meta: dict[str, Any], config: dict[str, Any]
) -> Path:
    path.mkdir(parents=True)
    base = {"budget": "1×8×100", "time_s": 1.0, "theorem": "t", "category": "algebra"}
    lines = [AttemptRecord.model_validate({**base, **r}).model_dump_json() for r in records]
    (path / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (path / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    (path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_report_lists_failures_load_time_versions_and_config_differences(tmp_path: Path) -> None:
    meta = {"backend": "repl", "lean": "4.24.0", "mathlib": "v4.24.0", "load_s": 42.5, "model": "knn",
            "benchmark": {"name": "minif2f_deepseek"}}  # fmt: skip
    config = {"search": {"name": "bfs", "max_expansions": 100}, "benchmark": {"name": "minif2f_deepseek"}}
    a = write_run(
        tmp_path / "a",
        [
            {"problem": "p1", "status": "proved", "proof": "simp", "time_s": 2.0},
            {"problem": "p2", "status": "error", "error": "RuntimeError: the generator ran out of memory"},
            {"problem": "p3", "status": "failed"},
            {
                "problem": "p4",
                "status": "unverified",
                "verification": {"accepted": False, "reasons": ["uses sorryAx"]},
            },
        ],
        meta,
        config,
    )
    b = write_run(
        tmp_path / "b",
        [{"problem": "p1", "status": "failed"}],
        {**meta, "load_s": 1.0},
        {**config, "search": {"name": "mcts", "max_expansions": 100}},
    )
    files = write_report(a, compare=b)
    text = files["markdown"].read_text(encoding="utf-8")
    assert "RuntimeError: the generator ran out of memory" in text and "| `p3` | failed |" in text
    assert "uses sorryAx" in text
    assert "42.50 s, not counted in any problem's time" in text
    assert "backend repl, Lean 4.24.0, Mathlib v4.24.0" in text
    assert "written for Lean v4.9.0" in text  # the DeepSeek variant, run on 4.24
    assert "| `search.name` | `bfs` | `mcts` |" in text and "max_expansions" not in text.split("differ")[1]
    assert "**pass@1 = 25.0%**" in text and "pass_at_k" not in files
    summary = json.loads(files["summary"].read_text(encoding="utf-8"))
    assert summary["comparison"]["config_diff"] == [{"key": "search.name", "a": "bfs", "b": "mcts"}]
    assert [x["problem"] for x in summary["not_solved"]] == ["p2", "p3", "p4"]


def test_whole_proof_runs_still_plot_a_pass_at_k_curve(tmp_path: Path) -> None:
    records = [
        {"problem": f"p{i}", "status": "proved" if i else "failed", "samples": {"n": 8, "c": i}}
        for i in range(3)
    ]
    run = write_run(tmp_path / "w", records, {}, {})
    files = write_report(run)
    assert files["pass_at_k"].stat().st_size > 0
    text = markdown(load_run(run), files)
    assert "| 8 |" in text and "backend unknown" in text  # an old run: versions not claimed


# --- 3. trees of hundreds of nodes ------------------------------------------------------------------------------
def big_graph(branch: int = 5, fails: int = 5, depth: int = 3) -> dict[str, Any]:
    from prover.search.graph import GRAPH_FORMAT

    nodes = [{"id": 0, "kind": "state", "status": "open", "goals": ["⊢ root"], "depth": 0}]
    edges: list[dict[str, Any]] = []
    frontier, next_id = [0], 1
    for d in range(1, depth + 1):
        new = []
        for parent in frontier:
            for b in range(branch):
                nodes.append({"id": next_id, "kind": "state", "status": "failed", "goals": [f"⊢ g{next_id}"],
                              "depth": d})  # fmt: skip
                edges.append({"source": parent, "target": next_id, "tactic": f"t{b}", "cycle": False})
                new.append(next_id)
                next_id += 1
            for f in range(fails):
                nodes.append({"id": next_id, "kind": "error", "status": "failed", "goals": [], "depth": d,
                              "message": "linarith failed"})  # fmt: skip
                edges.append({"source": parent, "target": next_id, "tactic": f"bad{f}", "cycle": False})
                next_id += 1
        frontier = new
    nodes.append({"id": next_id, "kind": "proof", "status": "proved", "goals": [], "depth": depth + 1})
    edges.append({"source": frontier[0], "target": next_id, "tactic": "done", "cycle": False})
    return {"format": GRAPH_FORMAT, "version": 1, "theorem": {"name": "big"}, "root": 0,
            "proof": ["t0", "t0", "t0", "done"], "nodes": nodes, "edges": edges}  # fmt: skip


def test_a_300_node_tree_collapses_failed_leaves_and_stays_a_sane_size(tmp_path: Path) -> None:
    from PIL import Image

    from prover.search.render import MAX_PIXELS, render

    data = big_graph()
    assert len(data["nodes"]) > 300
    layout = render(data, tmp_path / "big.png")
    assert layout.collapsed > 100 and layout.omitted == 0 and len(layout.proof_edges) == 4
    width, height = Image.open(tmp_path / "big.png").size
    assert max(width, height) <= MAX_PIXELS * 1.1 and width / height <= 6
    small = render(big_graph(2, 2, 1), tmp_path / "small.png")
    assert small.collapsed == 0  # small graphs keep every failed tactic
