"""`prover train train=critic` on CPU with a tiny random BERT: train, resume, load as the model critic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import tiny_bert

from prover.cli.main import main
from prover.training.critic import critic_target
from prover.training.records import CriticExample, Provenance


def test_distance_target_orders_states() -> None:
    prov = Provenance(source="t", origin="m")

    def value(on_proof: bool, d: int | None) -> float:
        return critic_target(
            CriticExample(theorem="t", provenance=prov, goals=["⊢ a"], on_proof=on_proof, distance=d),
            "distance",
        )

    assert value(True, 1) == 1.0 and value(True, 8) == 0.125 and value(False, None) == 0.0
    assert value(True, 2) > value(True, 3)


def write_critic_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    prov = {"source": "test", "origin": "memory"}
    lines = []
    for i in range(16):
        split = "val" if i % 4 == 0 else "train"
        lines.append(
            {
                "theorem": f"t{i}",
                "split": split,
                "provenance": prov,
                "goals": [f"⊢ {i} = {i}"],
                "on_proof": True,
                "distance": 1 + i % 3,
            }
        )
        lines.append(
            {
                "theorem": f"t{i}",
                "split": split,
                "provenance": prov,
                "goals": [f"h : x = {i}\n⊢ False", "⊢ y"],
                "on_proof": False,
                "distance": None,
            }
        )
    (folder / "critic.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("target", ["binary", "distance"])
def test_train_resume_and_load_as_model_critic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    from prover.generation.base import GenerationRequest
    from prover.generation.factory import make_critic

    base = tiny_bert(tmp_path / "tiny")
    data = write_critic_data(tmp_path / "data")
    out = tmp_path / "critic"
    common = [
        "train",
        "train=critic",
        f"train.model={base}",
        f"train.data={data}",
        f"train.output_dir={out}",
        f"train.target={target}",
        "train.batch_size=8",
        "train.lr=1e-3",
        "train.save_steps=2",
        "train.eval_steps=2",
        "train.logging_steps=1",
        "train.max_length=32",
    ]
    assert main([*common, "train.max_steps=2"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] is None
    assert main([*common, "train.max_steps=4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["steps"] == 4
    critic = make_critic({"name": "model", "model": summary["model"], "device": "cpu"})
    values = [critic.score(GenerationRequest(goals=g)) for g in (("⊢ 3 = 3",), ("h : x = 1\n⊢ False", "⊢ y"))]
    assert all(0.0 <= v <= 1.0 for v in values)
