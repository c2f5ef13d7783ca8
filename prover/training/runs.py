"""What every training run shares: its own absolute output directory, the composed config, metrics, resume.

Layout of ``output_dir``: ``config.yaml`` (the composed settings), ``metrics.jsonl`` (one line per log or
eval event, appended, so a resumed run continues the curve), ``checkpoint-*`` (transformers' own, for resume
after a kill), ``runs/`` (TensorBoard, when installed) and ``model/`` (the final plain Hugging Face directory
that ``from_pretrained`` and the project's loaders read). Paths are resolved once, before any process starts,
so multi-process launchers (``accelerate launch``, ``torchrun``) all write to the same place.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from prover.training.settings import CommonTrainSettings

FINAL = "model"
METRICS = "metrics.jsonl"


def prepare_output_dir(settings: CommonTrainSettings) -> Path:
    """Make ``output_dir`` absolute, create it and write the composed config (kept on resume)."""
    out = Path(settings.output_dir).expanduser().resolve()
    settings.output_dir = str(out)
    if settings.data is not None:
        settings.data = str(Path(settings.data).expanduser().resolve())
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False))
    return out


def last_checkpoint(out: Path) -> str | None:
    """The newest complete ``checkpoint-N`` (transformers writes ``trainer_state.json`` last)."""
    best: tuple[int, Path] | None = None
    for p in out.glob("checkpoint-*"):
        try:
            step = int(p.name.split("-", 1)[1])
        except ValueError:
            continue
        if (p / "trainer_state.json").is_file() and (best is None or step > best[0]):
            best = (step, p)
    return str(best[1]) if best else None


def guard_datasets_shadow() -> None:
    """Keep transformers from taking the repository's ``datasets/`` folder for Hugging Face ``datasets``.

    With the repository root on ``sys.path`` (``python -m ...`` run from it), that folder is importable as a
    namespace package named ``datasets``; transformers' ``Trainer`` then believes the library is installed and
    fails on ``datasets.Dataset``. Our datasets are plain lists, so the library's absence loses nothing.
    """
    spec = importlib.util.find_spec("datasets")
    if spec is not None and spec.origin is None:
        import transformers.trainer as trainer_module

        trainer_module.is_datasets_available = lambda: False  # type: ignore[assignment]


def precision_flags(precision: str) -> dict[str, bool]:
    import torch

    if precision == "auto":
        ok = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return {"bf16": ok, "fp16": False}
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def training_arguments(settings: CommonTrainSettings, out: Path, has_eval: bool, **extra: Any):
    """``TrainingArguments`` from the typed settings (one mapping, so every task reads the same knobs)."""
    from transformers import TrainingArguments

    guard_datasets_shadow()
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    return TrainingArguments(
        output_dir=str(out),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.lr,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=settings.weight_decay,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=settings.eval_steps,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        logging_steps=settings.logging_steps,
        report_to=["tensorboard"] if tensorboard else "none",
        seed=settings.seed,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        **precision_flags(settings.precision),
        **extra,
    )


def metrics_callback(out: Path):
    """A ``TrainerCallback`` appending every log / eval event to ``metrics.jsonl`` (main process only)."""
    from transformers import TrainerCallback

    class MetricsJsonl(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                line = {"step": state.global_step, "epoch": state.epoch, "time": time.time(), **logs}
                with (out / METRICS).open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(line) + "\n")

    return MetricsJsonl()


def export(trainer: Any, module: Any, tokenizer: Any, final: Path) -> None:
    """Write the final plain Hugging Face directory once (main process), then let every process go on."""
    if trainer.is_world_process_zero():
        module.save_pretrained(final)
        tokenizer.save_pretrained(final)
    trainer.accelerator.wait_for_everyone()


def train_and_export(
    trainer: Any,
    out: Path,
    task: str,
    final_module: Callable[[], Any],
    tokenizer: Any,
    evaluate: bool,
    **facts: Any,
) -> tuple[dict[str, Any], Path]:
    """Train (resuming from the last checkpoint in ``out``), evaluate if asked, export ``final_module()`` as the
    plain Hugging Face ``model/`` directory, and return the run summary every task reports plus that directory.

    ``final_module`` is called only after training (e.g. a LoRA model is merged then, not before).
    """
    resume = last_checkpoint(out)
    # transformers prints its log dicts on stdout; the CLI's stdout is JSON lines only
    with contextlib.redirect_stdout(sys.stderr):
        result = trainer.train(resume_from_checkpoint=resume)
        evaluation = trainer.evaluate() if evaluate else {}
    final = out / FINAL
    export(trainer, final_module(), tokenizer, final)
    summary: dict[str, Any] = {
        "task": task,
        "output_dir": str(out),
        "model": str(final),
        **facts,
        "resumed_from": resume,
        "steps": result.global_step,
        "train_loss": result.training_loss,
    }
    if "eval_loss" in evaluation:
        summary["eval_loss"] = evaluation["eval_loss"]
    return summary, final


def read_metrics(out: str | Path) -> list[dict[str, Any]]:
    path = Path(out) / METRICS
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # the half-written last line of a killed run
        if isinstance(row, dict):
            rows.append(row)
    return rows
