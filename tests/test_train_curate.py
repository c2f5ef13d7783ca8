"""Curation rules: each a switch, each counted; `prover data curate` prints what each rule removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train_data import write_tree_run

from prover.cli.main import main
from prover.training.build import BuildInputs, build
from prover.training.curate import curate
from prover.training.records import Provenance, TacticExample, read_records
from prover.training.settings import CurateSettings

PROV = Provenance(source="test", origin="memory")


def ex(theorem: str, goal: str, tactic: str, after: list[str] | None = None) -> TacticExample:
    return TacticExample(theorem=theorem, provenance=PROV, goals=[goal], tactic=tactic, after=after)


def sample() -> list[TacticExample]:
    records = [
        ex("a", "⊢ x", "simp"),
        ex("a", "⊢  x", "simp "),  # duplicate after whitespace normalisation
        ex("b", "⊢ y", "ring_nf", after=["⊢ y"]),  # left the state unchanged
        ex("c", "⊢ z", "omega", after=[]),
    ]
    records += [ex(f"n{i}", f"⊢ n = {i}", "norm_num") for i in range(40)]  # one very frequent tactic
    records += [ex(f"m{i}", f"⊢ m = {i}", f"exact h{i}") for i in range(40)]
    return records


def test_each_rule_counts_and_can_be_switched_off() -> None:
    kept, report = curate(sample(), CurateSettings(max_share=0.1))
    assert report.before == 84
    assert report.removed["dedupe"] == 1 and report.removed["drop_unchanged"] == 1
    assert report.ineffective == ["norm_num"]
    left = sum(r.tactic == "norm_num" for r in kept)
    assert 1 <= left < 20 and report.removed["downsample_ineffective"] == 40 - left
    assert report.after == len(kept) == 84 - 2 - (40 - left)
    again, _ = curate(sample(), CurateSettings(max_share=0.1))
    assert again == kept  # deterministic
    off = CurateSettings(dedupe=False, drop_unchanged=False, downsample_ineffective=False)
    kept_all, report_off = curate(sample(), off)
    assert len(kept_all) == 84 and set(report_off.removed.values()) == {0}


def test_tree_statistics_spare_frequent_tactics_that_prove(tmp_path: Path) -> None:
    write_tree_run(tmp_path / "run")
    records = [ex(f"t{i}", f"⊢ {i}", "close_d") for i in range(10)] + [ex("u", "⊢ u", "x")]
    # close_d is frequent, but on a proof each time it was tried: not ineffective
    settings = CurateSettings(max_share=0.1, min_tries=1, tree_runs=[str(tmp_path / "run")])
    _, report = curate(records, settings)
    assert report.ineffective == [] and report.removed["downsample_ineffective"] == 0
    records = [ex(f"t{i}", f"⊢ {i}", "tac_b") for i in range(10)] + [ex("u", "⊢ u", "x")]
    _, report = curate(records, settings)  # tac_b never lay on a proof
    assert report.ineffective == ["tac_b"] and report.removed["downsample_ineffective"] > 0


def test_drop_easy_removes_problems_a_cheap_search_solved(tmp_path: Path) -> None:
    write_tree_run(tmp_path / "run")  # t1 proved, t2 failed
    records = [ex("t1", "⊢ A", "simp"), ex("t2", "⊢ B", "simp"), ex("t3", "⊢ C", "simp")]
    kept, report = curate(
        records,
        CurateSettings(drop_easy=True, easy_runs=[str(tmp_path / "run")], downsample_ineffective=False),
    )
    assert [r.theorem for r in kept] == ["t2", "t3"] and report.removed["drop_easy"] == 1


def test_cli_curate_prints_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = tmp_path / "steps.jsonl"
    lines = [
        {"source": "p/1", "step": 0, "goals": ["⊢ a"], "goal_id": 0, "tactic": "skip"},
        {"source": "p/1", "step": 1, "goals": ["⊢ a"], "goal_id": 0, "tactic": "simp"},
        {"source": "p/2", "step": 0, "goals": ["⊢  a"], "goal_id": 0, "tactic": "simp"},
    ]
    steps.write_text("".join(json.dumps(x) + "\n" for x in lines))
    build(BuildInputs(tactic_files=[steps]), tmp_path / "data")
    capsys.readouterr()
    assert (
        main(
            [
                "data",
                "curate",
                str(tmp_path / "data"),
                "--out",
                str(tmp_path / "cur"),
                "downsample_ineffective=false",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    summary = json.loads(out)
    # p/1 step 0 left "⊢ a" as it was (step 1 starts from it); p/2's pair duplicates p/1 step 1
    assert summary["removed"] == {
        "dedupe": 1,
        "drop_unchanged": 1,
        "downsample_ineffective": 0,
        "drop_easy": 0,
        "drop_degenerate": 0,
    }
    assert "dedupe: removed 1" in err
    assert len(read_records(tmp_path / "cur" / "tactic.jsonl", TacticExample)) == 1
    assert main(["data", "curate", str(tmp_path / "data"), "--out", str(tmp_path / "c2"), "dedup=true"]) == 2
    assert "unknown key curate.dedup" in capsys.readouterr().err
