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
    module, func = TRAINERS[task].split(":")
    trainer = getattr(importlib.import_module(module), func)
    # the generator's pass-rate check proves with the rest of this command's config (backend, benchmark, ...)
    emit(trainer(settings, cfg) if task == "generator" else trainer(settings))
    return 0


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
