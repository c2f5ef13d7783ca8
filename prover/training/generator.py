"""``prover train train=generator``: supervised fine-tuning of a seq2seq or causal model on (state -> tactic).

The input is built by the project's own prompt template (``prover.generation.prompts``) from the request that
search would send (the goal the tactic ran on first, the theorem's name), with the record's premises as the
retrieval prefix (``premises_prefix``, the same text ``RetrievalAugmenter`` puts before the state), each one
dropped with probability ``premise_dropout`` per example and epoch (ReProver: 0.5), so the model learns to
use premises without relying on them. Causal models see prompt + tactic + EOS with the loss on the tactic
tokens only (prompt positions are labelled -100). ``lora=true`` wraps the model with ``peft`` when installed;
the exported ``model/`` is merged back into a plain Hugging Face directory, so ``generator=hf
generator.model=OUTPUT_DIR/model generator.kind=KIND generator.prompt_template=T`` uses it at once.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from typing import Any

from prover.training.records import TacticExample, TrainingDataError, read_records
from prover.training.runs import (
    metrics_callback,
    prepare_output_dir,
    train_and_export,
    training_arguments,
)
from prover.training.settings import GeneratorTrainSettings


def prompt_for(example: TacticExample, template: Any, premises: list[str], max_bytes: int) -> str:
    """The model input for one example, exactly as search would format its request."""
    from prover.generation.augment import premises_prefix
    from prover.generation.base import GenerationRequest

    goals = list(example.goals)
    focused = goals.pop(example.goal_id)
    request = GenerationRequest(goals=[focused, *goals], theorem_name=example.theorem)
    prefix = premises_prefix(premises, request.text, max_bytes) if premises else ""
    return template.format(request, prefix)


class _Examples:
    """A map-style dataset re-drawing the premise dropout each time an example is read."""

    def __init__(self, records: list[TacticExample], settings: GeneratorTrainSettings, seed: int) -> None:
        from prover.generation.prompts import get_template

        self.records = records
        self.settings = settings
        self.template = get_template(settings.prompt_template)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, str]:
        r = self.records[i]
        kept = [p for p in r.premises if self.rng.random() >= self.settings.premise_dropout]
        return {
            "prompt": prompt_for(r, self.template, kept, self.settings.premise_max_bytes),
            "tactic": r.tactic,
        }


def _collator(tokenizer: Any, settings: GeneratorTrainSettings):
    import torch

    if settings.kind == "seq2seq":

        def seq2seq(batch: list[dict[str, str]]) -> dict[str, Any]:
            enc = tokenizer(
                [b["prompt"] for b in batch],
                padding=True,
                truncation=True,
                max_length=settings.max_length,
                return_tensors="pt",
            )
            labels = tokenizer(
                [b["tactic"] for b in batch],
                padding=True,
                truncation=True,
                max_length=settings.max_target_length,
                return_tensors="pt",
            )["input_ids"]
            labels[labels == tokenizer.pad_token_id] = -100
            return {**enc, "labels": labels}

        return seq2seq

    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos

    def causal(batch: list[dict[str, str]]) -> dict[str, Any]:
        rows, labels = [], []
        for b in batch:
            p_ids = tokenizer(b["prompt"], truncation=True, max_length=settings.max_length)["input_ids"]
            if p_ids and p_ids[-1] == eos:  # ByT5-style tokenizers end every text with EOS
                p_ids = p_ids[:-1]
            t_ids = tokenizer(b["tactic"], add_special_tokens=False)["input_ids"][
                : settings.max_target_length
            ]
            ids = p_ids + t_ids + [eos]
            rows.append(ids)
            labels.append([-100] * len(p_ids) + t_ids + [eos])
        width = max(len(r) for r in rows)
        return {
            "input_ids": torch.tensor([r + [pad] * (width - len(r)) for r in rows]),
            "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
            "labels": torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels]),
        }

    return causal


def _load(settings: GeneratorTrainSettings) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    from prover.retrieval.encoder import resolve_model_path

    path = resolve_model_path(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    cls = AutoModelForSeq2SeqLM if settings.kind == "seq2seq" else AutoModelForCausalLM
    model = cls.from_pretrained(path)
    if settings.lora:
        if importlib.util.find_spec("peft") is None:
            raise TrainingDataError("train.lora=true needs the `peft` package (pip install peft)")
        from peft import LoraConfig, get_peft_model

        task = "SEQ_2_SEQ_LM" if settings.kind == "seq2seq" else "CAUSAL_LM"
        model = get_peft_model(
            model, LoraConfig(task_type=task, r=settings.lora_r, lora_alpha=2 * settings.lora_r)
        )
    return tokenizer, model


def top_k_exact(
    model_dir: Path, records: list[TacticExample], settings: GeneratorTrainSettings
) -> dict[str, float]:
    """Top-1 / top-k exact tactic match on ``records``, through the project's own HF generator (as search)."""
    from prover.generation.base import GenerationRequest
    from prover.generation.hf import HFTacticGenerator
    from prover.generation.settings import HFGenerationSettings
    from prover.training.records import normalise

    k = settings.eval_top_k
    generator = HFTacticGenerator(
        str(model_dir),
        HFGenerationSettings(
            model=str(model_dir), kind=settings.kind, prompt_template=settings.prompt_template
        ),
    )
    hits1 = hitsk = 0
    for r in records:
        goals = list(r.goals)
        focused = goals.pop(r.goal_id)
        row = generator.generate([GenerationRequest(goals=[focused, *goals], theorem_name=r.theorem)], k)[0]
        pred = [normalise(s.tactic) for s in row]
        hits1 += bool(pred) and pred[0] == normalise(r.tactic)
        hitsk += normalise(r.tactic) in pred
    n = max(len(records), 1)
    return {"val_top1": hits1 / n, f"val_top{k}": hitsk / n, "val_examples": len(records)}


def train_generator(settings: GeneratorTrainSettings) -> dict[str, Any]:
    from transformers import Trainer

    if settings.data is None:
        raise TrainingDataError("train.data is not set: a directory from `prover data build-train`")
    from prover.generation.prompts import get_template

    get_template(settings.prompt_template)  # an unknown template is a clear error before any loading
    out = prepare_output_dir(settings)
    records = read_records(Path(settings.data) / "tactic.jsonl", TacticExample)
    train = [r for r in records if r.split == "train"]
    val = [r for r in records if r.split == "val"]
    if not train:
        raise TrainingDataError(f"{settings.data}/tactic.jsonl: no records in the train split")
    tokenizer, model = _load(settings)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = Trainer(
        model=model,
        args=training_arguments(settings, out, has_eval=bool(val)),
        train_dataset=_Examples(train, settings, settings.seed),
        eval_dataset=_Examples(val, settings.model_copy(update={"premise_dropout": 0.0}), 0) if val else None,
        data_collator=_collator(tokenizer, settings),
        callbacks=[metrics_callback(out)],
    )
    summary, final = train_and_export(
        trainer,
        out,
        "generator",
        lambda: model.merge_and_unload() if settings.lora else model,
        tokenizer,
        bool(val),
        kind=settings.kind,
        prompt_template=settings.prompt_template,
        train_records=len(train),
        val_records=len(val),
    )
    if val and settings.eval_examples:
        summary.update(top_k_exact(final, val[: settings.eval_examples], settings))
    return summary
