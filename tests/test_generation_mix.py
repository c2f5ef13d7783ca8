"""The default generator's ranking with reserved vote slots (``mix.reserve_votes``) and their fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.generation.mix import fit_vote_slots, load_vote_slots, reserve_votes, save_mix

# automation outscores every neighbour tactic; the neighbours' favourite is "rw [h]"
MIX = {"norm_num": 0.30, "simp": 0.20, "linarith": 0.15, "omega": 0.10, "rw [h]": 0.08, "exact h": 0.05}
VOTES = {"rw [h]": 0.7, "exact h": 0.2, "norm_num": 0.1}


def _names(ranked: list[tuple[str, float]]) -> list[str]:
    return [t for t, _ in ranked]


def test_without_slots_it_is_the_plain_top_k() -> None:
    assert _names(reserve_votes(MIX, VOTES, 3, 0)) == ["norm_num", "simp", "linarith"]


def test_reserved_slots_bring_the_best_voted_tactics_in_at_their_own_score() -> None:
    one = reserve_votes(MIX, VOTES, 3, 1)
    assert _names(one) == ["norm_num", "simp", "rw [h]"]  # linarith, the lowest, gave way
    assert dict(one)["rw [h]"] == MIX["rw [h]"]  # scores untouched: still one distribution
    # two slots: rw [h] and exact h (norm_num is voted third and already in)
    assert _names(reserve_votes(MIX, VOTES, 3, 2)) == ["norm_num", "rw [h]", "exact h"]
    # a reserved tactic already in the top k costs nothing; the first entry never moves while slots < k
    assert _names(reserve_votes(MIX, {"simp": 1.0}, 3, 1)) == ["norm_num", "simp", "linarith"]
    for slots in range(3):
        assert reserve_votes(MIX, VOTES, 3, slots)[0][0] == "norm_num"
    # slots beyond k, or more than the votes hold, are harmless
    assert _names(reserve_votes(MIX, VOTES, 2, 9)) == ["rw [h]", "exact h"]
    assert len(reserve_votes(MIX, VOTES, 8, 3)) == len(MIX)
    assert reserve_votes(MIX, {}, 3, 2) == reserve_votes(MIX, VOTES, 3, 0)


def test_ranking_is_deterministic_on_ties() -> None:
    tied = {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
    assert _names(reserve_votes(tied, {"d": 1.0}, 2, 1)) == ["a", "d"]
    assert reserve_votes(tied, {"d": 1.0}, 2, 1) == reserve_votes(dict(tied), {"d": 1.0}, 2, 1)


def test_fit_vote_slots_picks_the_best_top_k_then_top1_then_fewer_slots() -> None:
    # truth is the neighbours' favourite in two rows, an automation tactic in the third
    rows = [(MIX, VOTES, "rw [h]"), (MIX, VOTES, "rw [h]"), (MIX, VOTES, "linarith")]
    slots, rates = fit_vote_slots(rows, k=3)
    assert slots == 1 and rates == {"top1": 0.0, "top3": round(2 / 3, 4)}
    # nothing to gain: zero slots
    assert fit_vote_slots([(MIX, VOTES, "norm_num")], k=3)[0] == 0
    assert fit_vote_slots([(MIX, VOTES, "exact h")], k=3, max_slots=1)[0] == 0


def test_vote_slots_round_trip_and_bad_files(tmp_path: Path) -> None:
    assert load_vote_slots(tmp_path) is None
    save_mix(tmp_path, {"*": 0.4}, vote_slots=2)
    assert load_vote_slots(tmp_path) == 2
    for bad in ("-1", "true", '"2"', "1.5"):
        (tmp_path / "knn_mix.json").write_text(
            json.dumps({"weights": {}}).replace("}}", f'}}, "vote_slots": {bad}}}')
        )
        assert load_vote_slots(tmp_path) is None, bad


def test_encoder_training_refit_saves_vote_slots_with_the_mix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.training.encoder import refit_mix
    from prover.training.records import Provenance, TacticExample
    from prover.training.settings import EncoderTrainSettings
    from tests.test_generation_knn import CORPUS, TrigramEncoder

    monkeypatch.setattr("prover.retrieval.encoder.TextEncoder", lambda *a, **k: TrigramEncoder())
    prov = Provenance(source="tactic-jsonl", origin="test")
    records = [
        TacticExample(
            theorem=f"{r['source']}-{i}", split=split, provenance=prov, goals=r["goals"], tactic=r["tactic"]
        )
        for i, r in enumerate(CORPUS)
        for split in ("train", "val")
    ]
    model, out = tmp_path / "model", tmp_path / "run"
    model.mkdir()
    out.mkdir()
    settings = EncoderTrainSettings(data=str(tmp_path), output_dir=str(out))
    metrics = refit_mix(model, records, settings, out, 7)
    saved = json.loads((model / "knn_mix.json").read_text(encoding="utf-8"))
    assert isinstance(saved["vote_slots"], int) and load_vote_slots(model) == saved["vote_slots"]
    assert metrics["mix_vote_slots"] == saved["vote_slots"]
    line = json.loads((out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert line["step"] == 7 and line["mix_vote_slots"] == saved["vote_slots"] and "eval_knn_top8" in line
