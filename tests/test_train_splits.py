"""Splits by text, not only by id: the same goal or statement never lies on two sides (issue 25)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.training.build import BuildInputs, build, split_leak, split_of, statement_key
from prover.training.records import ProofExample, TacticExample, read_records
from prover.training.sources import from_tactic_jsonl

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tactics" / "fps-search-proof-steps.jsonl"


def _steps(path: Path, n: int = 60) -> Path:
    """``n`` problems under two benchmark ids each (as the FPS sets hold one problem twice): the same root goal
    under ``a#i`` and ``b#i``, then a step of its own."""
    lines = []
    for i in range(n):
        for bench in ("a", "b"):
            src = f"prover/{bench}#{i}"
            lines.append({"source": src, "step": 0, "goals": [f"⊢ {i} + 1 = 1 + {i}"], "tactic": "omega"})
            lines.append(
                {"source": src, "step": 1, "goals": [f"x : ℕ\n⊢ x = x + 0 + {i}{bench}"], "tactic": "simp"}
            )
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def test_same_goal_under_two_ids_shares_a_side(tmp_path: Path) -> None:
    src = _steps(tmp_path / "steps.jsonl")
    records = from_tactic_jsonl(src)
    for r in records:  # the old split: by id alone
        r.split = split_of(r.theorem, 0.2, 0.2)
    assert split_leak(records)["leaked"] > 0  # the defect: a root goal in train and in val/test
    summary = build(BuildInputs(tactic_files=[src]), tmp_path / "data", val=0.2, test=0.2)
    assert summary["tasks"]["tactic"]["leak"] == {
        "held_out": summary["tasks"]["tactic"]["leak"]["held_out"],
        "leaked": 0,
        "rate": 0.0,
    }
    built = read_records(tmp_path / "data" / "tactic.jsonl", TacticExample)
    side = {r.theorem: r.split for r in built}
    assert all(side[f"a#{i}"] == side[f"b#{i}"] for i in range(60))
    assert {"train", "val", "test"} <= set(side.values())
    assert summary["split_groups"]["groups"] == 60


def _mustard(run: Path, samples: list[dict]) -> Path:
    run.mkdir(parents=True)
    (run / "samples.jsonl").write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))
    return run


def _sample(i: int, stmt_no: int, labels: list[str] | None = None, proof: str = "omega") -> dict:
    statement = f"theorem s{i} (n : ℕ) : n + {stmt_no} = {stmt_no} + n"
    return {
        "id": i,
        "formal_statement": statement,
        "formal_proof": f"{statement} := by\n  {proof}",
        "verdict": "verified",
        "labels": labels or [],
    }


def test_whole_proofs_deduped_and_identical_statements_share_a_side(tmp_path: Path) -> None:
    # 12 samples of one statement (names differ) with 2 distinct proofs, plus 40 other statements
    samples = [_sample(i, 0, proof="omega" if i % 2 else "ring") for i in range(12)]
    samples += [_sample(100 + j, j + 1) for j in range(40)]
    run = _mustard(tmp_path / "synth", samples)
    summary = build(BuildInputs(synth_dirs=[run]), tmp_path / "data", val=0.3, test=0.2)
    assert summary["proof_duplicates_dropped"] == 10
    proofs = read_records(tmp_path / "data" / "proof.jsonl", ProofExample)
    assert len(proofs) == 42
    same = [r for r in proofs if statement_key(r.statement) == statement_key(samples[0]["formal_statement"])]
    assert len(same) == 2 and len({r.split for r in same}) == 1
    assert summary["tasks"]["proof"]["leak"]["leaked"] == 0


def test_statement_key_ignores_names_and_tails() -> None:
    assert statement_key("theorem foo (n : ℕ) :\n  n = n := by sorry") == statement_key(
        "theorem bar (n : ℕ) : n = n"
    )
    assert statement_key("example (n : ℕ) : n = n :=") == statement_key("lemma x (n : ℕ) : n = n")
    assert statement_key("theorem a : 1 = 1") != statement_key("theorem a : 2 = 2")


def test_degenerate_samples_never_reach_proof_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = [_sample(0, 0, ["trivial: norm_num"]), _sample(1, 1), _sample(2, 2, ["contradictory: h"])]
    run = _mustard(tmp_path / "synth", samples)
    assert main(["data", "build-train", "--synth", str(run), "--out", str(tmp_path / "d")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["proof_degenerate_dropped"] == 2
    assert [r.theorem for r in read_records(tmp_path / "d" / "proof.jsonl", ProofExample)] == [
        "synth:synth#1"
    ]
    out = tmp_path / "k"
    assert main(["data", "build-train", "--synth", str(run), "--out", str(out), "--keep-degenerate"]) == 0
    assert len(read_records(out / "proof.jsonl", ProofExample)) == 3


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_file(), reason="../shared reference data not present")
def test_shared_fps_steps_leak_before_and_after(tmp_path: Path) -> None:
    records = from_tactic_jsonl(SHARED)
    for r in records:
        r.split = split_of(r.theorem, 0.0, 0.2)
    before = split_leak(records)
    summary = build(BuildInputs(tactic_files=[SHARED]), tmp_path / "data", val=0.0, test=0.2)
    # README "Training": 184 of 507 held-out steps (36.3%) leaked with the split by id; none now
    assert (before["leaked"], before["held_out"]) == (184, 507)
    assert summary["tasks"]["tactic"]["leak"]["leaked"] == 0
    assert summary["tasks"]["tactic"]["leak"]["held_out"] > 300
