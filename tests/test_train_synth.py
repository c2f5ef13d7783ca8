"""`prover data build-train --synth RUN`: verified `prover synth` samples as (statement, whole proof) records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.training.records import ProofExample, read_records


def _sample(i: int, verdict: str) -> dict:
    statement = f"theorem s{i} (n : ℕ) : n + {i} = {i} + n"
    return {
        "id": i,
        "concepts": ["addition"],
        "problem": f"Show n + {i} = {i} + n.",
        "formal_statement": statement,
        "formal_proof": f"{statement} := by\n  omega"
        if verdict == "verified"
        else f"{statement} := by\n  rfl",
        "verdict": verdict,
        "attempts": [{"round": 0, "stage": "ok" if verdict == "verified" else "proof", "messages": []}],
        "lean": "v4.9.0",
        "mathlib": "abc123",
    }


def test_verified_samples_become_proof_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "synth-run"
    run.mkdir()
    samples = [_sample(i, "verified" if i % 3 else "proof_rejected") for i in range(9)]
    (run / "samples.jsonl").write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))
    out = tmp_path / "data"
    assert main(["data", "build-train", "--synth", str(run), "--out", str(out), "--val", "0.3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"]["proof"]["records"] == 6 and summary["tasks"]["tactic"]["records"] == 0
    records = read_records(out / "proof.jsonl", ProofExample)
    assert {r.theorem for r in records} == {f"synth:synth-run#{i}" for i in range(9) if i % 3}
    first = records[0]
    assert first.proof.startswith(first.statement) and "omega" in first.proof
    assert first.provenance.source == "synth" and first.provenance.lean == "v4.9.0"
    assert first.provenance.mathlib == "abc123" and first.informal and first.split in {"train", "val", "test"}


def test_not_a_synth_dir_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "build-train", "--synth", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "samples.jsonl" in err and "Traceback" not in err
