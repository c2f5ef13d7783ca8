"""LoRA fine-tuning exports a plain merged Hugging Face model, and every run writes TensorBoard events.

Both need the ``train`` extra (``peft``, ``tensorboard``), which ``make test`` installs; they skip without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from test_train_generator import write_data
from tiny_models import make_causal

from prover.training.generator import train_generator
from prover.training.settings import GeneratorTrainSettings


def _settings(tmp_path: Path, **extra: object) -> GeneratorTrainSettings:
    return GeneratorTrainSettings(
        model=str(make_causal(tmp_path / "base")),
        kind="causal",
        prompt_template="bfs_prover",
        data=str(write_data(tmp_path / "data")),
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        batch_size=4,
        lr=1e-3,
        save_steps=2,
        logging_steps=1,
        eval_examples=0,
        **extra,
    )


@pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="needs the train extra (peft)")
def test_lora_run_exports_a_merged_plain_checkpoint(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    summary = train_generator(_settings(tmp_path, lora=True, lora_r=4))
    exported = Path(summary["model"])
    # merged: no adapter files, loads with from_pretrained like any model, same architecture as the base
    assert not (exported / "adapter_config.json").exists()
    assert (exported / "config.json").is_file()
    model = AutoModelForCausalLM.from_pretrained(exported)
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    assert type(model) is type(base)
    assert not any("lora" in name for name in model.state_dict())
    trained, original = model.state_dict(), base.state_dict()
    changed = [k for k in original if not torch.equal(original[k], trained[k])]
    assert changed, "the merged adapters changed no weight"
    assert all("attn" in k for k in changed), f"LoRA should only touch attention weights: {changed}"


@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None, reason="needs the train extra (tensorboard)"
)
def test_every_run_writes_tensorboard_events_in_its_own_directory(tmp_path: Path) -> None:
    train_generator(_settings(tmp_path))
    events = list((tmp_path / "out").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file under the run's output directory"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert any("loss" in tag for tag in acc.Tags()["scalars"])
