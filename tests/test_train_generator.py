"""`prover train train=generator` on CPU with tiny random ByT5 / causal models: prompts, masking, resume, load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_generation_tiny_models import make_causal, make_seq2seq

from prover.cli.main import main
from prover.training.records import Provenance, TacticExample
from prover.training.settings import GeneratorTrainSettings


def example(premises: list[str] | None = None) -> TacticExample:
    return TacticExample(
        theorem="foo",
        provenance=Provenance(source="t", origin="m"),
        goals=["⊢ q", "h : p\n⊢ p"],
        goal_id=1,
        tactic="exact h",
        premises=premises or [],
    )


def test_prompt_is_what_search_shows_with_premise_dropout() -> None:
    from prover.generation.prompts import get_template
    from prover.training.generator import _Examples, prompt_for

    text = prompt_for(example(), get_template("reprover"), [], 2048)
    assert text == "h : p\n⊢ p\n\n⊢ q"  # the goal the tactic ran on first, as search sends it
    with_premise = prompt_for(example(), get_template("reprover"), ["Nat.add_comm"], 2048)
    assert with_premise == "<a>Nat.add_comm</a>\n\n" + text
    drawn = _Examples([example(["A", "B"])] * 200, GeneratorTrainSettings(premise_dropout=0.5), seed=0)
    kept = [drawn[i]["prompt"].count("<a>") for i in range(200)]
    assert 150 < sum(kept) < 250 and {0, 1, 2} <= set(kept)  # each premise dropped about half the time
    never = _Examples([example(["A", "B"])], GeneratorTrainSettings(premise_dropout=0.0), seed=0)
    assert never[0]["prompt"].count("<a>") == 2


def test_causal_loss_covers_only_the_tactic(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from prover.training.generator import _collator

    tok = AutoTokenizer.from_pretrained(make_causal(tmp_path / "lm"))
    batch = _collator(tok, GeneratorTrainSettings(kind="causal"))(
        [{"prompt": "⊢ p:::", "tactic": "simp"}, {"prompt": "⊢ a longer goal", "tactic": "rfl"}]
    )
    labels, ids = batch["labels"][0], batch["input_ids"][0]
    supervised = [int(i) for i, lab in zip(ids, labels, strict=True) if lab != -100]
    assert tok.decode(supervised[:-1]) == "simp" and supervised[-1] == tok.eos_token_id


def write_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    prov = {"source": "test", "origin": "memory"}
    lines = [
        {
            "theorem": f"t{i}",
            "split": "val" if i % 5 == 0 else "train",
            "provenance": prov,
            "goals": [f"n : ℕ\n⊢ n + {i} = {i} + n"],
            "tactic": "omega",
            "premises": ["Nat.add_comm"],
        }
        for i in range(20)
    ]
    (folder / "tactic.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_train_resume_and_load_into_hf_generator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    from prover.generation.base import GenerationRequest
    from prover.generation.factory import make_generator

    base = (make_seq2seq if kind == "seq2seq" else make_causal)(tmp_path / "base")
    data = write_data(tmp_path / "data")
    out = tmp_path / "gen"
    template = "reprover" if kind == "seq2seq" else "bfs_prover"
    common = [
        "train",
        "train=generator",
        f"train.model={base}",
        f"train.kind={kind}",
        f"train.data={data}",
        f"train.output_dir={out}",
        f"train.prompt_template={template}",
        "train.batch_size=4",
        "train.lr=1e-3",
        "train.save_steps=2",
        "train.eval_steps=2",
        "train.logging_steps=1",
        "train.eval_examples=2",
        "train.eval_top_k=2",
    ]
    assert main([*common, "train.max_steps=2"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] is None
    assert main([*common, "train.max_steps=4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["steps"] == 4
    assert summary["val_examples"] == 2 and 0.0 <= summary["val_top2"] <= 1.0

    def load(path: object) -> object:
        cfg = {"name": "hf", "model": str(path), "kind": kind, "prompt_template": template, "device": "cpu"}
        return make_generator(cfg)

    request = [GenerationRequest(goals=("n : ℕ\n⊢ n + 3 = 3 + n",))]
    trained, untrained = load(summary["model"]), load(base)
    # the checkpoint loads as the project's generator and has learnt something of the one target tactic
    assert trained.score_tactics(request, ["omega"])[0] > untrained.score_tactics(request, ["omega"])[0]
    assert len(trained.generate(request, 2)) == 1
