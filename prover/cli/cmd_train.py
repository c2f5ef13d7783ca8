"""``prover train train=TASK``: fine-tune a model on data from ``prover data build-train`` (hydra-configured).

Parsing and printing only: the settings are ``prover.training.settings``, each task's trainer is its own
module under ``prover.training``. Every run writes to its own absolute ``train.output_dir``.
"""

from __future__ import annotations

import argparse

from prover.cli.common import NotYetAvailable, add_config_args, emit, load_config, print_config_if_asked

#: tasks whose trainer exists; the others have settings (``configs/train``) but no trainer yet
TRAINERS = {
    "encoder": "prover.training.encoder:train_encoder",
    "critic": "prover.training.critic:train_critic",
    "generator": "prover.training.generator:train_generator",
    "retriever": "prover.training.retriever:train_retriever",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train",
        help="fine-tune a model (train=encoder|generator|critic|retriever|expert_iteration)",
        description="Example:\n  prover train train=encoder train.data=data/train "
        "train.output_dir=outputs/enc train.max_steps=200\n"
        "  prover train report OUTPUT_DIR   (loss / validation curves as PNG in OUTPUT_DIR/report/index.html)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--force-new",
        action="store_true",
        help="start over in train.output_dir even if it holds a run with other settings (its checkpoints, "
        "metrics and model are removed); without it such a run is refused, the same settings resume",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib

    from prover.settings import load_settings
    from prover.training.settings import TRAIN_SETTINGS

    if args.overrides and args.overrides[0] == "report":
        return _report(args.overrides[1:])
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    task = str(cfg.train.get("name", ""))
    if task == "expert_iteration":
        from prover.training.iterate import iterate
        from prover.training.settings import ExpertIterationSettings

        emit(iterate(cfg, load_settings(ExpertIterationSettings, cfg.train, "train")))
        return 0
    if task not in TRAIN_SETTINGS:
        raise NotYetAvailable(
            f"unknown training task train={task} (known: {', '.join(sorted(TRAIN_SETTINGS))})"
        )
    settings = load_settings(TRAIN_SETTINGS[task], cfg.train, "train")
    if task not in TRAINERS:
        raise NotYetAvailable(f"'prover train train={task}' is not implemented yet; nothing was done")
    from prover.training.runs import forget_failed_start

    _check_before_training(task, settings, cfg, args)
    module, func = TRAINERS[task].split(":")
    trainer = getattr(importlib.import_module(module), func)
    # the generator's pass-rate check proves with the rest of this command's config (backend, benchmark, ...);
    # a start that fails before training anything leaves no run behind (its retry is not "other settings")
    with forget_failed_start(settings.output_dir), _SigtermSaysSo():
        summary = trainer(settings, cfg) if task == "generator" else trainer(settings)
    emit(summary)
    return 0


def _check_before_training(task: str, settings, cfg, args: argparse.Namespace) -> None:
    """Everything that can be wrong with the command line, checked before any model loads (one sentence each):
    a pass-rate check without a usable backend, a resume with other settings, an unreachable hub model."""
    from pathlib import Path

    from prover.training.runs import TrainingRunError, check_model_source, check_resume, set_progress

    set_progress(not args.no_progress)
    _silence_library_progress()
    if task == "generator" and settings.pass_rate.enabled:
        from prover.lean.factory import preflight

        preflight(cfg.backend)  # e.g. backend=repl without Lean: said now, not after hours of training
    if task == "retriever" and settings.corpus:
        corpus = Path(settings.corpus).expanduser()
        if not corpus.exists():
            raise TrainingRunError(f"train.corpus={settings.corpus}: the corpus file {corpus} does not exist")
    check_resume(settings, force_new=args.force_new)
    if task == "generator":
        from prover.training.generator import check_examples

        check_examples(settings)  # template / data files: cheaper than the model, so said first
    check_model_source(settings.model)


def _silence_library_progress() -> None:
    """Only the project's own progress lines: no "Loading weights" bars from transformers / the hub."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


class _SigtermSaysSo:
    """SIGTERM outside the training loop (loading, export, validation) ends with a sentence and exit 143, not
    silently; inside it ``prover.training.runs`` saves a checkpoint first."""

    def __enter__(self):
        import signal
        import threading

        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        from prover.training.runs import TrainingInterrupted

        raise TrainingInterrupted(
            "terminated (SIGTERM); finished checkpoints are kept, the same command resumes"
        )

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


def _report(rest: list[str]) -> int:
    """``prover train report RUN_DIR [OUT]``: the curves of ``RUN_DIR/metrics.jsonl`` as PNG in HTML."""
    from prover.cli.common import CliError
    from prover.training.records import TrainingDataError
    from prover.training.report import write_training_report

    if len(rest) not in (1, 2):
        raise CliError("usage: prover train report RUN_DIR [OUT_DIR]")
    try:
        emit(write_training_report(*rest))
    except TrainingDataError as exc:
        raise CliError(str(exc)) from exc
    return 0
