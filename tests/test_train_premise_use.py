"""(state, used premises) pairs read off tactic text with a premise corpus (sources without LeanDojo's
annotations: our tactic JSONL, prove runs, synthesis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.training.premise_use import premises_used
from prover.training.records import PremiseExample, read_records

NAMES = {"Nat.add_comm": 0, "mul_comm": 1, "sq_nonneg": 2, "Nat.succ_le_iff": 3}


@pytest.mark.parametrize(
    ("tactic", "used"),
    [
        ("rw [Nat.add_comm, ← mul_comm]", ["Nat.add_comm", "mul_comm"]),
        ("nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]", ["sq_nonneg"]),  # once, in order of first use
        ("exact Nat.add_comm.symm", ["Nat.add_comm"]),  # the longest prefix that is a premise
        ("exact (Nat.succ_le_iff).mp h", ["Nat.succ_le_iff"]),
        ("exact h.mp", []),  # a local hypothesis
        ("simp -- Nat.add_comm", []),  # a comment is not code
        ('exact "mul_comm"', []),  # nor is a string
        ("exact add_comm a b", []),  # not in the corpus (relative names are not guessed)
    ],
)
def test_premises_used(tactic: str, used: list[str]) -> None:
    assert premises_used(tactic, NAMES) == used


def test_build_train_writes_premise_pairs_with_the_premises_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"file": "Mathlib/Algebra/Group/Defs.lean", "imports": []},
        {"full_name": "mul_comm", "code": "theorem mul_comm …", "path": "Mathlib/Algebra/Group/Defs.lean"},
        {"full_name": "Nat.add_comm", "code": "theorem Nat.add_comm …", "path": "Init/Data/Nat/Basic.lean"},
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    steps = tmp_path / "steps.jsonl"
    lines = [
        {"source": "run/p1", "step": 0, "goals": ["a b : ℕ\n⊢ a * b = b * a", "⊢ True"], "goal_id": 0,
         "tactic": "rw [mul_comm]"},
        {"source": "run/p2", "step": 0, "goals": ["⊢ True", "a b : ℕ\n⊢ a + b = b + a"], "goal_id": 1,
         "tactic": "exact Nat.add_comm a b"},
        {"source": "run/p3", "step": 0, "goals": ["⊢ 1 = 1"], "goal_id": 0, "tactic": "rfl"},
    ]  # fmt: skip
    steps.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "data"
    args = ["data", "build-train", "--out", str(out), "--tactics", str(steps), "--val", "0", "--test", "0"]
    assert main([*args, "--premise-corpus", str(corpus)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"]["premise"]["records"] == 2
    records = {r.theorem: r for r in read_records(out / "premise.jsonl", PremiseExample)}
    assert records["p1"].premises == ["mul_comm"]
    assert records["p1"].premise_files == ["Mathlib/Algebra/Group/Defs.lean"]
    assert records["p2"].goals == ["a b : ℕ\n⊢ a + b = b + a"]  # the goal the tactic acted on
    assert records["p2"].premise_files == ["Init/Data/Nat/Basic.lean"]
    # without a corpus nothing is guessed
    assert main([*args[:3], str(tmp_path / "data2"), *args[4:]]) == 0
    assert json.loads(capsys.readouterr().out)["tasks"]["premise"]["records"] == 0
    # a corpus that is not one: one line, exit 2
    corpus.write_text('{"full_name": ""}\n', encoding="utf-8")
    assert main([*args, "--premise-corpus", str(corpus)]) == 2
    assert "full_name" in capsys.readouterr().err
