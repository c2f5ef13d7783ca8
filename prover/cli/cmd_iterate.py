"""``prover iterate rounds=N``: expert iteration (prove -> collect -> curate -> train -> prove again).

The same loop as ``prover train train=expert_iteration`` (:mod:`prover.training.iterate`), with the loop's
own keys accepted bare (``rounds=3`` for ``train.rounds=3``); every other override is the usual hydra config
(backend, benchmark, search, generator). Resumable: re-running the same command continues at the first round
without a ``round.json``.
"""

from __future__ import annotations

import argparse

from prover.cli.common import add_config_args, emit, load_config, print_config_if_asked


def _bare_keys() -> set[str]:
    from prover.training.settings import ExpertIterationSettings

    # ``generator`` and ``seed`` are also root keys (the prove config's): those stay as written
    return set(ExpertIterationSettings.model_fields) - {"name", "generator", "seed"}


def loop_overrides(overrides: list[str]) -> list[str]:
    """``train=expert_iteration`` first, then the overrides with the loop's bare keys under ``train.``."""
    bare = _bare_keys()
    out = ["train=expert_iteration"]
    for o in overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        head = key.split(".", 1)[0]
        out.append(f"train.{o}" if head in bare and "=" in o else o)
    return out


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "iterate",
        help="expert iteration: rounds of prove -> collect proofs -> curate -> train the generator (+ critic)",
        description="Example:\n  prover iterate rounds=3 output_dir=outputs/ei benchmark=minif2f "
        "generator=hf generator.model=PATH\n"
        "Bare keys (rounds, output_dir, tactics, val, continue_from_previous, curate.*, train_critic, "
        "critic.*) are the loop's own (train.*); train.generator.* is the training of each round; the rest is "
        "the prove config.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from prover.settings import load_settings
    from prover.training.iterate import iterate
    from prover.training.settings import ExpertIterationSettings

    args.overrides = loop_overrides(list(args.overrides))
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    emit(iterate(cfg, load_settings(ExpertIterationSettings, cfg.train, "train")))
    return 0
