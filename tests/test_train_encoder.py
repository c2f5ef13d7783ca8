"""`prover train train=encoder` end to end on CPU with a tiny random BERT (no download): train, resume, load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import tiny_bert

from prover.cli.main import main
from prover.training.records import Provenance, TacticExample
from prover.training.runs import read_metrics
from prover.training.settings import EncoderTrainSettings


def write_data(folder: Path) -> Path:
    """Goals whose tactics agree across theorems: the contrastive positives."""
    folder.mkdir(parents=True)
    prov = {"source": "test", "origin": "memory"}
    lines = []
    for i in range(24):
        for split in ("train", "val"):
            theorem = f"{split}{i}"
            lines.append(
                {
                    "theorem": theorem,
                    "split": split,
                    "provenance": prov,
                    "goals": [f"a b : ℕ\n⊢ a + {i} = {i} + a"],
                    "tactic": "rw [Nat.add_comm]",
                }
            )
            lines.append(
                {
                    "theorem": theorem,
                    "split": split,
                    "provenance": prov,
                    "goals": [f"h : p {i}\n⊢ p {i} ∨ q"],
                    "tactic": "exact Or.inl h",
                }
            )
            lines.append(
                {
                    "theorem": theorem,
                    "split": split,
                    "provenance": prov,
                    "goals": [f"⊢ {i} * 2 = {2 * i}"],
                    "tactic": "norm_num",
                }
            )
    (folder / "tactic.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return folder


def test_contrastive_pairs_group_agreeing_tactics() -> None:
    from prover.training.encoder import contrastive_pairs

    prov = Provenance(source="t", origin="m")
    recs = [
        TacticExample(theorem=f"t{i % 3}", provenance=prov, goals=[f"⊢ g{i}"], tactic=tac)
        for i, tac in enumerate(["simp", "simp ", "ring", "omega", "simp"])
    ]
    pairs = contrastive_pairs(recs, EncoderTrainSettings())
    texts = {(p["a"], p["b"]) for p in pairs}
    # simp goals g0, g1, g4 (theorems t0, t1, t1): cross-theorem pairs only; ring / omega have no partner
    assert texts == {("⊢ g0", "⊢ g1"), ("⊢ g1", "⊢ g0"), ("⊢ g0", "⊢ g4"), ("⊢ g4", "⊢ g0")}
    heads = contrastive_pairs(recs, EncoderTrainSettings(positives="head", cross_theorem_only=False))
    assert len(heads) == 6


def test_tactics_the_shape_model_already_offers_get_few_pairs() -> None:
    """``norm_num`` is offered for every goal by the default generator's shape model, so its group is capped at
    ``covered_pairs_per_group``; a hint list the shape model does not build keeps ``max_pairs_per_group``."""
    from prover.training.encoder import contrastive_pairs, shape_covered

    prov = Provenance(source="t", origin="m")
    hint = "nlinarith [mul_self_nonneg (a - 1), sq_abs b]"
    recs = [
        TacticExample(theorem=f"t{i}", provenance=prov, goals=[f"a b : ℝ\n⊢ a * b ≤ {i}"], tactic=tactic)
        for i in range(6)
        for tactic in ("norm_num", hint)
    ]
    assert shape_covered("norm_num", recs[0].focused_goal) and not shape_covered(hint, recs[1].focused_goal)

    by_group: dict[int, int] = {}
    for pair in contrastive_pairs(recs, EncoderTrainSettings()):
        by_group[pair["group"]] = by_group.get(pair["group"], 0) + 1
    # groups are numbered in sorted tactic order: 0 = the hint list, 1 = norm_num; 6 goals give 30 pairs
    assert by_group == {0: 30, 1: 4}
    assert len(contrastive_pairs(recs, EncoderTrainSettings(covered_pairs_per_group=64))) == 60  # off
    dropped = contrastive_pairs(recs, EncoderTrainSettings(covered_pairs_per_group=0))
    assert {p["group"] for p in dropped} == {0} and len(dropped) == 30


@pytest.mark.slow
def test_train_resume_and_load_into_knn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from prover.generation.base import GenerationRequest
    from prover.generation.factory import make_generator
    from prover.retrieval.encoder import TextEncoder

    base = tiny_bert(tmp_path / "tiny")
    data = write_data(tmp_path / "data")
    out = tmp_path / "enc"
    common = [
        "train",
        "train=encoder",
        f"train.model={base}",
        f"train.data={data}",
        f"train.output_dir={out}",
        "train.batch_size=8",
        "train.lr=1e-3",
        "train.save_steps=3",
        "train.eval_steps=3",
        "train.logging_steps=1",
        "train.max_length=32",
    ]
    assert main([*common, "train.max_steps=3"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["resumed_from"] is None and (out / "checkpoint-3" / "trainer_state.json").is_file()
    # a killed run restarts from its last checkpoint; the metrics curve continues in the same file
    assert main([*common, "train.max_steps=6"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["resumed_from"].endswith("checkpoint-3") and second["steps"] == 6
    assert np.isfinite(second["eval_loss"])
    steps = [m["step"] for m in read_metrics(out) if "loss" in m]
    assert steps[:3] == [1, 2, 3] and 6 in steps
    assert (out / "config.yaml").read_text().count(str(out)) == 1
    # the exported encoder is a plain HF directory that embeds differently from the untrained one
    goal = ["a b : ℕ\n⊢ a + 7 = 7 + a"]
    assert not np.allclose(TextEncoder(str(base)).encode(goal), TextEncoder(first["model"]).encode(goal))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        json.dumps({"source": "x", "step": 0, "goals": goal, "goal_id": 0, "tactic": "omega"}) + "\n"
    )
    gen = make_generator({"name": "knn", "corpus": str(corpus), "encoder": second["model"], "cache": False})
    suggestions = gen.generate([GenerationRequest(goals=("x : ℕ\n⊢ x + 1 = 1 + x",))], 4)[0]
    assert "omega" in [s.tactic for s in suggestions]
