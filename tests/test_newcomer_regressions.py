"""Regressions from the newcomer review of issue 24 ("a newcomer's afternoon"), one test per defect fixed.

Each test failed before its fix: a library's progress bar or log chatter on stderr, a class name or a traceback
where one sentence belongs, a result row from a run that could not run, and outputs of a scripted-world run
(the server's answers, saved trees, drawings, report charts, run events, bench rows) that did not name the
simulation.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_eval_end_to_end import overrides, write_world

from prover.cli.main import main

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests" / "data" / "worlds" / "editor_demo.json"
TRANSCRIPT = REPO / "tests" / "data" / "transcripts" / "session_add_zero.in"


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def no_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without ``lake`` (nor anything else): Lean is not installed."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# --- #2 bench_judge --lean without lake -------------------------------------------------------------------
def test_bench_judge_lean_without_lake_is_one_sentence_and_no_row(
    no_lake: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # bench/ is a folder of scripts at the root, not installed
    from bench import bench_judge

    code = bench_judge.main(["--lean", "--n", "2", "--judges", "repl", "comparator", "--sandbox", "none"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # no result row of a judge that cannot run
    assert "'lake' is not on PATH" in one_line(err) and "make lean" in err


def test_comparator_hint_does_not_offer_the_repl_judge_without_lake(
    no_lake: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from bench.bench_judge import _backend, _judge_config
    from prover.lean.judge import JudgeError, make_judge

    with pytest.raises(JudgeError) as caught:
        make_judge(_judge_config("comparator", True, 60.0), _backend(True, "none"))
    assert "make lean" in str(caught.value) and "verify.judge=repl" not in str(caught.value)


# --- #5 index build --no-progress, #11c the rate of slow items -------------------------------------------
class _FakeEncoder:
    name = "fake"
    dim = 4
    batch_size = 2

    def encode(self, texts: list[str], batch_size: int = 2) -> Any:
        import numpy as np

        out = np.ones((len(texts), self.dim), dtype="float32")
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _corpus() -> Any:
    from prover.retrieval.corpus import Corpus, Premise

    return Corpus(
        [
            Premise(f"Nat.p{i}", f"theorem Nat.p{i} (n : Nat) : n + {i} = {i} + n", path="A.lean")
            for i in range(80)
        ]
    )


def test_dense_index_progress_is_ours_and_quiet_when_off(capsys: pytest.CaptureFixture[str]) -> None:
    from prover import progress
    from prover.retrieval.index import build_dense_index

    progress.set_enabled(False)
    try:
        build_dense_index(_corpus(), _FakeEncoder(), progress=True)
    finally:
        progress.set_enabled(True)
    assert capsys.readouterr().err == ""  # --no-progress: nothing, not even a library bar
    build_dense_index(_corpus(), _FakeEncoder(), progress=True)
    err = capsys.readouterr().err
    assert "prover index:" in err and "premises encoded" in err and "it/s" not in err and "%|" not in err


def test_index_build_passes_the_no_progress_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prover.retrieval.index as index_module

    seen: list[bool] = []

    def fake_build(corpus: Any, settings: Any, progress: bool = False) -> Any:
        seen.append(progress)
        return index_module.build_bm25_index(corpus)

    monkeypatch.setattr(index_module, "build_index", fake_build)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        json.dumps({"full_name": "Nat.a", "code": "theorem Nat.a : 1 = 1", "path": "A.lean"}) + "\n",
        encoding="utf-8",
    )
    argv = ["index", "build", "--corpus", str(corpus), "retriever=bm25"]
    assert main([*argv, "--out", str(tmp_path / "i1"), "--no-progress"]) == 0
    assert main([*argv, "--out", str(tmp_path / "i2")]) == 0
    assert seen == [False, True]


def test_slow_items_show_seconds_each_not_a_zero_rate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prover import progress

    clock = iter(float(t) for t in range(0, 1000, 30))  # every block takes 30 s
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    list(progress.track(range(5), 5, "knn", "blocks of 512 corpus steps embedded"))
    err = capsys.readouterr().err
    assert "1/5 blocks" in err and "0.0/s" not in err and "30.0 s each" in err


# --- #6 a hub model with no network; #9 the libraries' log output -----------------------------------------
def test_hf_generator_with_an_unreachable_hub_model_is_one_sentence_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prover.generation.hf import HFTacticGenerator, ModelLoadError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelLoadError) as caught:
        HFTacticGenerator("no-such-org-x1/no-such-tacgen-model")
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert (
        "generator.model=no-such-org-x1/no-such-tacgen-model" in message
        and "hub cannot be reached" in message
    )


def test_training_still_says_the_same_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from prover.training.runs import TrainingRunError, check_model_source

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TrainingRunError, match="train.model=no-such-org-x1/m is not a local directory"):
        check_model_source("no-such-org-x1/m")


def test_quiet_libraries_silences_hub_retries_and_the_transformers_load_report() -> None:
    code = (
        "import logging; from prover import progress; progress.set_enabled(False); progress.quiet_libraries()\n"
        "import huggingface_hub, transformers\n"
        "from transformers.utils import logging as tl\n"
        "print(tl.get_verbosity(), logging.getLogger('huggingface_hub').getEffectiveLevel(),"
        " logging.getLogger('transformers.modeling_utils').isEnabledFor(logging.WARNING))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.endswith("_VERBOSITY")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    verbosity, hub_level, warns = done.stdout.split()
    assert int(verbosity) >= 40 and int(hub_level) >= 40 and warns == "False"


# --- #10 Lean missing, class names, endpoint hint ---------------------------------------------------------
def test_lean_run_with_lake_env_and_no_lake_says_make_lean(
    no_lake: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["lean", "run", "--repl-cmd", "lake env .lake/packages/REPL/.lake/build/bin/repl", str(TRANSCRIPT)]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    line = one_line(err)
    assert "needs 'lake' on PATH" in line and "make lean" in line


def test_a_repl_that_dies_before_answering_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    repl = f"{sys.executable} -c 'import sys; sys.exit(2)'"
    code = main(["lean", "run", "--repl-cmd", repl, str(TRANSCRIPT)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # not one JSON line of ReplCrash per command
    assert "exited before its first answer" in one_line(err)


def test_error_lines_carry_no_class_names_and_an_unreachable_endpoint_gets_a_hint() -> None:
    from prover.cli.main import user_message

    assert user_message("JudgeError: verify.judge=comparator: no lake") == "verify.judge=comparator: no lake"
    text = user_message("worker set-up failed: EndpointError: cannot reach http://127.0.0.1:8000/v1: refused")
    assert "EndpointError" not in text and "generator.base_url" in text and "vLLM" in text
    assert user_message("a.lean: line 3: bad") == "a.lean: line 3: bad"


def test_serve_stopped_by_sigterm_does_not_promise_kept_results(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prover.cli.cmd_serve as cmd_serve
    import prover.cli.main as cli_main

    def terminated(args: Any) -> int:
        cli_main._TERMINATED["hit"] = True
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd_serve, "run", terminated)
    monkeypatch.setitem(cli_main._TERMINATED, "hit", False)
    assert main(["serve"]) == 143
    line = one_line(capsys.readouterr().err)
    assert "terminated (SIGTERM)" in line and "results" not in line


# --- #11 retrieve --state -, index convert --out an existing file -----------------------------------------
def _bm25_index(folder: Path) -> Path:
    from prover.retrieval.index import build_bm25_index

    return build_bm25_index(_corpus()).save(folder / "idx")


def test_retrieve_state_dash_reads_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _bm25_index(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe bad")))
    assert main(["retrieve", "--index", str(index), "--state", "-", "-k", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "standard input is not UTF-8" in one_line(err)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("n : Nat ⊢ n + 7 = 7 + n".encode())))
    assert main(["retrieve", "--index", str(index), "--state", "-", "-k", "1"]) == 0
    hit = json.loads(capsys.readouterr().out.splitlines()[0])
    assert hit["full_name"] == "Nat.p7"  # the state read from stdin, not the literal "-"


def test_index_convert_refuses_to_overwrite_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "afile"
    out.write_text("keep me", encoding="utf-8")
    code = main(
        ["index", "convert", "--corpus", str(REPO / "tests/data/alchemy/leandojo"), "--out", str(out)]
    )
    assert code == 2 and out.read_text(encoding="utf-8") == "keep me"
    assert "already exists" in one_line(capsys.readouterr().err)


# --- #7 the editor server names the simulation ------------------------------------------------------------
def test_serve_check_and_prove_name_the_simulation() -> None:
    from fastapi.testclient import TestClient

    from prover.config import compose
    from prover.serve.app import create_app
    from prover.serve.service import ProverService
    from prover.serve.settings import ServeSettings
    from prover.settings import load_settings

    cfg = compose(
        [
            "backend=scripted",
            f"backend.world={WORLD}",
            "backend.in_process=true",
            "generator=fixed",
            "generator.tactics=[{tactic:simp,logprob:-0.1},{tactic:decide,logprob:-0.2}]",
        ]
    )
    service = ProverService.from_config(cfg, load_settings(ServeSettings, dict(cfg.serve), "serve"))
    with TestClient(create_app(service), base_url="http://localhost") as client:
        check = {
            "statement": "theorem checked : 1 + 1 = 2",
            "proof": "decide",
            "header": "import Mathlib.Tactic",
        }
        verdict = client.post("/check", json=check).json()
        assert (
            verdict["accepted"] is True and verdict["judge"] == "simulation" and verdict["simulation"] is True
        )
        statement = {
            "statement": "theorem add_zero_right (n : Nat) : n + 0 = n",
            "header": "import Mathlib.Tactic",
        }
        job_id = client.post("/prove", json={**statement, "max_expansions": 5}).json()["job_id"]
        deadline = time.monotonic() + 20
        while (state := client.get(f"/prove/{job_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state["status"] == "proved" and state["judge"] == "simulation" and state["simulation"] is True
        marked = client.post(
            "/suggest", json={"goal": "n : Nat\n⊢ n + 0 = n", "k": 2, "theorem": statement}
        ).json()
        assert marked["suggestions"] and marked["simulation"] is True  # marks from a scripted world say so


# --- #8 a scripted-world run's outputs name the simulation ------------------------------------------------
def test_prove_events_trees_drawing_and_report_name_the_simulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.axes

    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    argv = ["prove", "--out", str(run), "--no-progress", "--save-trees"]
    assert main([*argv, *overrides(world, bench, "executor.workers=0")]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    start = next(e for e in events if e.get("event") == "start")
    done = next(e for e in events if e.get("event") == "done")
    assert "no Lean ran" in start["simulation"] and "no Lean ran" in done["simulation"]

    trees = sorted((run / "trees").glob("*.json"))
    assert trees
    tree = json.loads(trees[0].read_text(encoding="utf-8"))
    assert tree["judge"] == "simulation" and tree["simulation"] is True
    svg = tmp_path / "tree.svg"
    assert main(["tree", "render", str(trees[0]), "-o", str(svg)]) == 0
    assert "SIMULATION" in svg.read_text(encoding="utf-8")

    titles: list[str] = []
    original = matplotlib.axes.Axes.set_title

    def recording(self: Any, label: str, *args: Any, **kwargs: Any) -> Any:
        titles.append(label)
        return original(self, label, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", recording)
    assert main(["report", str(run)]) == 0
    assert titles and all(t.startswith("SIMULATION") for t in titles)
    body = (run / "report" / "report.md").read_text(encoding="utf-8").splitlines()
    lead = next(line for line in body if line.startswith("**"))
    assert lead.startswith("**Simulation:**")  # before the headline figure


def test_a_tree_of_lean_is_not_marked(tmp_path: Path) -> None:
    from prover.lean.types import TacticState, Theorem
    from prover.search.graph import SearchGraph
    from prover.search.render import render

    theorem = Theorem("t", "theorem t : True")
    graph = SearchGraph(theorem)
    graph.add_root(TacticState(("⊢ True",), theorem))
    assert "simulation" not in graph.to_json()  # no judge named: no claim either way
    data = graph.to_json(judge="repl")
    assert data["simulation"] is False
    render(data, tmp_path / "t.svg")
    assert "SIMULATION" not in (tmp_path / "t.svg").read_text(encoding="utf-8")


def test_bench_search_overhead_rows_name_the_simulated_lean_time(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from bench import bench_search

    args = ["overhead", "--branching", "3", "--depth", "2", "--expansions", "3", "--mcts-expansions", "5"]
    assert bench_search.main(args) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all("lean_s" not in r and "simulated_lean_s" in r and r["simulation"] for r in rows)


def test_an_unreachable_ray_cluster_leaves_no_run_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """#4: `executor=ray executor.address=auto` with no cluster failed after creating RUN_DIR (an empty
    results.jsonl), so the corrected retry was refused with "already holds a run"."""
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    world, bench = write_world(tmp_path)
    out = tmp_path / "run"
    args = ["prove", *overrides(world, bench, "executor=ray", "executor.address=auto"), "--out", str(out)]
    assert main(args) == 1
    assert "Ray" in one_line(capsys.readouterr().err)
    assert not out.exists()
    assert main(["prove", *overrides(world, bench), "--out", str(out)]) == 0  # the corrected retry starts


@pytest.mark.parametrize(
    "argv",
    [
        ["lean", "check", "--statement", "theorem t : True", "--proof", "trivial"],
        ["serve", "--port", "0"],
        ["prove", "benchmark=samples", "--out", "{tmp}/run"],
    ],
    ids=["lean check", "serve", "prove"],
)
def test_lean_missing_is_exit_1_everywhere(
    argv: list[str], no_lake: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """#10: Lean missing is the machine, not the command line: exit 1 (prove said 1, lean check and serve 2)."""
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    assert "make lean" in one_line(capsys.readouterr().err)
