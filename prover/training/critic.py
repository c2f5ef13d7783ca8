"""``prover train train=critic``: a sequence-classification critic on the labels of saved search trees.

The result (``OUTPUT_DIR/model``) is read by :class:`prover.generation.critic.ModelCritic`
(``'search.critic={name: model, model: PATH}'``: ``search.critic`` is the string ``heuristic`` in the mcts /
mps configs, so it is replaced by a mapping, not edited key by key) exactly as trained: the same template over the same
state text. ``target=binary``: two labels, "on a proof" is label 1 (the critic's ``positive_label``).
``target=distance``: one logit whose sigmoid is the closeness ``(9 - d) / 8`` for a state ``d`` steps from
``no goals`` (1 for one step, 1/8 for eight) and 0 off the proofs, so a sigmoid reading ranks states by it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prover.training.records import MAX_DISTANCE, CriticExample, TrainingDataError, read_records
from prover.training.runs import (
    metrics_callback,
    prepare_output_dir,
    train_and_export,
    training_arguments,
)
from prover.training.settings import CriticTrainSettings

log = logging.getLogger(__name__)


def critic_target(example: CriticExample, target: str) -> float:
    if target == "binary":
        return float(example.on_proof)
    if not example.on_proof or example.distance is None:
        return 0.0
    return (MAX_DISTANCE + 1 - example.distance) / MAX_DISTANCE


def _rows(records: list[CriticExample], settings: CriticTrainSettings) -> list[dict[str, Any]]:
    from prover.generation.critic import CRITIC_TEMPLATES

    template = CRITIC_TEMPLATES[settings.template]
    return [
        {"text": template.format(state="\n\n".join(r.goals)), "y": critic_target(r, settings.target)}
        for r in records
    ]


def train_critic(settings: CriticTrainSettings) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer

    from prover.generation.critic import CRITIC_TEMPLATES
    from prover.retrieval.encoder import resolve_model_path

    if settings.data is None:
        raise TrainingDataError("train.data is not set: a directory from `prover data build-train`")
    if settings.template not in CRITIC_TEMPLATES:
        raise TrainingDataError(f"unknown critic template '{settings.template}' ({sorted(CRITIC_TEMPLATES)})")
    out = prepare_output_dir(settings)
    records = read_records(Path(settings.data) / "critic.jsonl", CriticExample)
    train = _rows([r for r in records if r.split == "train"], settings)
    val = _rows([r for r in records if r.split == "val"], settings)
    if not train:
        raise TrainingDataError(f"{settings.data}/critic.jsonl: no records in the train split")
    binary = settings.target == "binary"
    warning = one_class_warning(train, settings) if binary else None
    if warning:
        log.warning("%s", warning)
    path = resolve_model_path(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path,
        num_labels=2 if binary else 1,
        problem_type="single_label_classification" if binary else "multi_label_classification",
    )

    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        enc = tokenizer(
            [x["text"] for x in batch],
            padding=True,
            truncation=True,
            max_length=settings.max_length,
            return_tensors="pt",
        )
        ys = [x["y"] for x in batch]
        enc["labels"] = torch.tensor(ys, dtype=torch.long) if binary else torch.tensor(ys).unsqueeze(1)
        return dict(enc)

    trainer = Trainer(
        model=model,
        args=training_arguments(settings, out, has_eval=bool(val)),
        train_dataset=train,
        eval_dataset=val or None,
        data_collator=collate,
        callbacks=[metrics_callback(out)],
    )
    summary, _ = train_and_export(
        trainer,
        out,
        "critic",
        lambda: model,
        tokenizer,
        bool(val),
        train_records=len(train),
        val_records=len(val),
    )
    if warning:
        summary["warning"] = warning
    return summary


def one_class_warning(train: list[dict[str, Any]], settings: CriticTrainSettings) -> str | None:
    """A binary critic whose train split has one label only learns a constant: say so (it still trains)."""
    labels = {row["y"] for row in train}
    if len(labels) > 1:
        return None
    which = "on a proof" if labels == {1.0} else "off every proof"
    return (
        f"{settings.data}/critic.jsonl: all {len(train)} train states are {which}, so the binary critic "
        "learns one class only (a constant score); add trees with failed branches (prover prove --save-trees)"
    )
