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
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from prover.files import nearest_existing
from prover.training.records import TrainingDataError
from prover.training.settings import CommonTrainSettings

FINAL = "model"
METRICS = "metrics.jsonl"
CONFIG = "config.yaml"
#: settings a resumed run may change: they decide what is logged or kept, not what is learned
RESUME_SAFE = {
    "output_dir",
    "eval_steps",
    "save_steps",
    "save_total_limit",
    "logging_steps",
    "eval_examples",
    "max_steps",
    "epochs",  # a resumed run may train longer (or stop sooner); config.yaml then says so
}

log = logging.getLogger(__name__)


class TrainingRunError(TrainingDataError):
    """A run that cannot start or go on as asked (changed settings on resume, a model that cannot be had)."""


class TrainingInterrupted(TrainingRunError):
    """SIGTERM / SIGINT during training: the checkpoint written at the stop is kept for the resume."""

    def __init__(self, message: str, signum: int = signal.SIGTERM) -> None:
        super().__init__(message)
        self.exit_code = 128 + int(signum)


#: the project's own progress lines on stderr (``--no-progress`` turns them off)
_PROGRESS = {"enabled": True}


def set_progress(enabled: bool) -> None:
    """Show (default) or hide the training progress lines on stderr."""
    _PROGRESS["enabled"] = enabled


def say(message: str) -> None:
    """One progress line on stderr (the CLI's stdout is JSON only), unless progress is off."""
    if _PROGRESS["enabled"]:
        print(f"prover train: {message}", file=sys.stderr, flush=True)


def _absolute(settings: CommonTrainSettings) -> Path:
    out = Path(settings.output_dir).expanduser().resolve()
    settings.output_dir = str(out)
    if settings.data is not None:
        settings.data = str(Path(settings.data).expanduser().resolve())
    return out


def _differences(saved: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key in sorted(set(saved) | set(now)):
        if key in RESUME_SAFE:
            continue
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(prefix + key)
    return keys


def check_resume(settings: CommonTrainSettings, force_new: bool = False) -> Path:
    """Refuse to continue a run in ``output_dir`` that was started with other settings (one sentence naming the
    keys); ``force_new`` instead clears that run (checkpoints, metrics, model, logs) so this one starts over."""
    out = _absolute(settings)
    _check_writable(out)
    saved_path = out / CONFIG
    if force_new:
        for item in [*out.glob("checkpoint-*"), out / FINAL, out / "runs", out / "snapshots"]:
            if item.is_dir():
                shutil.rmtree(item)
        for item in (out / METRICS, saved_path):
            item.unlink(missing_ok=True)
        return out
    if not saved_path.is_file():
        return out
    try:
        saved = yaml.safe_load(saved_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise TrainingRunError(
            f"{saved_path} is unreadable; add --force-new to start over in {out}"
        ) from None
    differ = _differences(saved if isinstance(saved, dict) else {}, settings.model_dump(mode="json"))
    if differ:
        raise TrainingRunError(
            f"{out} holds a run started with other settings ({', '.join('train.' + k for k in differ)}); "
            "run it with the same settings to resume, use another train.output_dir, or add --force-new to "
            "start over there"
        )
    return out


def _check_writable(out: Path) -> None:
    """``train.output_dir`` must be a directory this run can create and write: said in one sentence before any
    model loads, not as a traceback after it."""
    probe = nearest_existing(out)
    if not probe.is_dir():
        raise TrainingRunError(f"train.output_dir={out}: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TrainingRunError(f"train.output_dir={out}: {probe} is not writable")


def prepare_output_dir(settings: CommonTrainSettings) -> Path:
    """Make ``output_dir`` absolute, refuse a run there with other settings (:func:`check_resume`), create it
    and write the composed config, which is then what this run trains with."""
    out = check_resume(settings)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingRunError(f"train.output_dir={out} cannot be created: {exc.strerror or exc}") from None
    if last_checkpoint(out) is None:
        # nothing to resume: the curve of an earlier, unfinished start would be mixed into this one
        (out / METRICS).unlink(missing_ok=True)
    tmp = out / (CONFIG + ".tmp")
    tmp.write_text(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    tmp.replace(out / CONFIG)
    return out


@contextlib.contextmanager
def forget_failed_start(output_dir: str | Path) -> Iterator[None]:
    """A start that fails before it trained anything leaves no run behind: the ``config.yaml`` (and metrics) it
    wrote are removed again, and the folder too when this start created it and nothing else is in it. Otherwise
    the corrected command (another ``train.corpus``, say) would be refused as "a run started with other
    settings". A run with a checkpoint or a final model, or a config from an earlier start, is kept as it is."""
    out = Path(output_dir).expanduser().resolve()
    existed = out.exists()
    had_config = (out / CONFIG).is_file()
    try:
        yield
    except BaseException:
        if not had_config and out.is_dir() and last_checkpoint(out) is None and not (out / FINAL).exists():
            with contextlib.suppress(OSError):
                for name in (CONFIG, CONFIG + ".tmp", METRICS):
                    (out / name).unlink(missing_ok=True)
                if not existed and not any(out.iterdir()):
                    out.rmdir()
        raise


def append_metrics(out: Path, step: int, metrics: dict[str, Any]) -> None:
    """One line in ``metrics.jsonl`` (e.g. validation top-k / recall after training, so the report plots it)."""
    line = {"step": step, "time": time.time(), **metrics}
    with (out / METRICS).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def check_model_source(name: str, key: str = "train.model") -> str:
    """The local path of ``name`` or a hub name the hub can serve; otherwise one sentence at once (the check is
    shared with the tactic generator: :func:`prover.generation.model_source.check_model_source`)."""
    from prover.generation.model_source import ModelSourceError
    from prover.generation.model_source import check_model_source as check_source

    try:
        return check_source(name, key)
    except ModelSourceError as exc:
        raise TrainingRunError(str(exc)) from None


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


def precision_flags(precision: str) -> dict[str, Any]:
    import torch

    if precision == "auto":
        ok = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return {"bf16": ok, "fp16": False}
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def training_arguments(
    settings: CommonTrainSettings, out: Path, has_eval: bool, eval_batch_size: int | None = None, **extra: Any
):
    """``TrainingArguments`` from the typed settings (one mapping, so every task reads the same knobs);
    ``eval_batch_size`` defaults to ``batch_size``."""
    from transformers import TrainingArguments

    guard_datasets_shadow()
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    return TrainingArguments(
        output_dir=str(out),
        disable_tqdm=True,  # the project's own progress lines (ProgressLines) instead of the library's bar
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=eval_batch_size or settings.batch_size,
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


def progress_callback():
    """Progress on stderr without ``-v``: a line per step while steps are slow (> 2 s, as on CPU), else about
    every 5% of the run, with the loss and the time left; off with ``--no-progress``."""
    from transformers import TrainerCallback

    class ProgressLines(TrainerCallback):
        def __init__(self) -> None:
            self.start = self.last_print = 0.0
            self.first_step = 0
            self.loss: float | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = self.last_print = time.perf_counter()
            self.first_step = state.global_step
            if state.is_world_process_zero:
                resumed = f", resuming at step {state.global_step}" if state.global_step else ""
                say(f"training {state.max_steps} steps{resumed}")

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.loss = float(logs["loss"])

        def on_step_end(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            now = time.perf_counter()
            done = state.global_step - self.first_step
            per_step = (now - self.start) / max(done, 1)
            every = max(1, state.max_steps // 20)
            if (
                now - self.last_print < 2.0
                and state.global_step % every
                and state.global_step != state.max_steps
            ):
                return
            self.last_print = now
            left = per_step * (state.max_steps - state.global_step)
            loss = f", loss {self.loss:.4g}" if self.loss is not None else ""
            say(
                f"step {state.global_step}/{state.max_steps}{loss}, {per_step:.1f} s/step, {left / 60:.1f} min left"
            )

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if state.is_world_process_zero and metrics and "eval_loss" in metrics:
                say(f"validation at step {state.global_step}: eval_loss {metrics['eval_loss']:.4g}")

    return ProgressLines()


class _StopFlag:
    """Set by SIGTERM / SIGINT while training; the trainer saves a checkpoint at the end of the step and stops."""

    def __init__(self) -> None:
        self.signal: int | None = None


@contextlib.contextmanager
def _stop_on_signals(flag: _StopFlag) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum, frame):
        if flag.signal is not None:  # a second signal: stop at once
            signal.signal(signum, previous[signum])
            raise KeyboardInterrupt
        flag.signal = signum
        say(
            f"{signal.Signals(signum).name} received: saving a checkpoint at the end of this step, then stopping"
        )

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _stop_callback(flag: _StopFlag):
    from transformers import TrainerCallback

    class StopOnSignal(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if flag.signal is not None:
                control.should_save = True
                control.should_training_stop = True

    return StopOnSignal()


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
    from transformers import PrinterCallback, ProgressCallback

    resume = last_checkpoint(out)
    flag = _StopFlag()
    trainer.remove_callback(PrinterCallback)  # its log dicts: the progress lines say what matters
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(progress_callback())
    trainer.add_callback(_stop_callback(flag))
    # transformers may print on stdout; the CLI's stdout is JSON lines only
    with contextlib.redirect_stdout(sys.stderr), _stop_on_signals(flag):
        result = trainer.train(resume_from_checkpoint=resume)
        if flag.signal is not None:
            kept = last_checkpoint(out)
            raise TrainingInterrupted(
                f"{'terminated' if flag.signal == signal.SIGTERM else 'interrupted'} at step "
                f"{trainer.state.global_step}; {Path(kept).name if kept else 'no checkpoint'} kept in {out}: "
                "run the same command to resume",
                flag.signal,
            )
        evaluation = _final_evaluation(trainer) if evaluate else {}
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


def _final_evaluation(trainer: Any) -> dict[str, Any]:
    """The evaluation at the last step: the one the trainer already ran when ``max_steps`` is a multiple of
    ``eval_steps`` (not run twice), else a new one."""
    step = trainer.state.global_step
    for row in reversed(trainer.state.log_history):
        if row.get("step") == step and "eval_loss" in row:
            return row
    return trainer.evaluate()


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
