"""Training data from a run that a simulation judged (issue 24, newcomer review #3): `prover data build-train
--run` refuses a scripted-world run in one sentence, and with --allow-simulation marks every record it gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train_data import write_tree_run

from prover.cli.main import main
from prover.evaluation.versions import SIMULATION_NOTE
from prover.training.records import CriticExample, ProofExample, TacticExample, read_records
from prover.training.sources import from_run_dir, is_simulation_run, proofs_from_run_dir


def _tree_run(run: Path) -> Path:
    """``write_tree_run``'s run, its proved problem with a statement (so it gives a whole proof too)."""
    write_tree_run(run)
    lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    lines[0]["statement"] = "theorem t1 : A"
    (run / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run


def _simulated(run: Path, **meta: object) -> Path:
    """A run with the ``run.json`` of a scripted world (what ``prover prove`` writes there)."""
    _tree_run(run)
    (run / "run.json").write_text(json.dumps({"lean": None, "mathlib": None, "created": 2.0, **meta}))
    return run


SCRIPTED = {"backend": f"scripted world /w/world.json ({SIMULATION_NOTE})", "judge": "simulation"}


@pytest.mark.parametrize(
    "meta", [SCRIPTED, {"judge": "simulation"}, {"backend": f"double ({SIMULATION_NOTE})"}], ids=str
)
def test_a_scripted_run_is_refused_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], meta: dict
) -> None:
    run = _simulated(tmp_path / "run", **meta)
    assert is_simulation_run(run)
    out = tmp_path / "data"
    assert main(["data", "build-train", "--out", str(out), "--run", str(run)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert f"{run} was judged by a simulation (scripted world), not Lean" in err[0]
    assert "--allow-simulation" in err[0]
    assert not out.exists()  # refused before anything is written


def test_allowed_simulation_marks_every_record_and_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _simulated(tmp_path / "run", **SCRIPTED)
    out = tmp_path / "data"
    assert main(["data", "build-train", "--out", str(out), "--run", str(run), "--allow-simulation"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["simulation_runs"] == [str(run)]
    assert "simulation" in captured.err and str(run) in captured.err
    assert json.loads((out / "build.json").read_text())["simulation_runs"] == [str(run)]
    records = [
        *read_records(out / "tactic.jsonl", TacticExample),
        *read_records(out / "critic.jsonl", CriticExample),
        *read_records(out / "proof.jsonl", ProofExample),
    ]
    assert len(records) == 3 + 4 + 1  # the proved path, the critic states, the whole proof
    assert all(r.provenance.simulation and r.provenance.judge == "simulation" for r in records)
    # the mark is in the files themselves, for any reader
    assert all(
        json.loads(line)["provenance"]["simulation"] is True
        for name in ("tactic", "critic", "proof")
        for line in (out / f"{name}.jsonl").read_text().splitlines()
    )


def test_a_lean_judged_run_is_read_unmarked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _tree_run(tmp_path / "run")
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, "backend": "repl", "judge": "comparator"}))
    assert not is_simulation_run(run)
    tactics, critic = from_run_dir(run)
    proofs = proofs_from_run_dir(run)
    assert tactics and critic and proofs
    for r in (*tactics, *critic, *proofs):
        assert not r.provenance.simulation and r.provenance.judge == "comparator"
    out = tmp_path / "data"
    assert main(["data", "build-train", "--out", str(out), "--run", str(run)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["simulation_runs"] == []


def test_one_simulated_run_among_others_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = _tree_run(tmp_path / "real")
    fake = _simulated(tmp_path / "fake", **SCRIPTED)
    args = ["data", "build-train", "--out", str(tmp_path / "d"), "--run", str(real), "--run", str(fake)]
    assert main(args) == 2
    assert str(fake) in capsys.readouterr().err
