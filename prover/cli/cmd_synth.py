"""``prover synth mustard|alchemy``: Lean-checked synthetic data (``prover.synthesis``). Parsing and printing only.

Exit codes as ``prover prove``: 0 done, 2 bad config or input (nothing written), 1 broken environment (Lean or the
model unreachable; finished samples are kept and ``--out`` the same directory resumes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from random import Random

from prover.cli.common import (
    CliError,
    EnvironmentFailure,
    add_config_args,
    emit,
    load_config,
    print_config_if_asked,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "synth", help="synthesise data: MUSTARD-style problems, Alchemy-style rewrites, checked by Lean"
    )
    parser.add_argument("method", choices=["mustard", "alchemy"], help="which synthesiser")
    parser.add_argument("--out", type=Path, help="run directory (created, or resumed when it holds a run)")
    parser.add_argument("--num", type=int, help="number of samples (overrides synth.num)")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if not any(o.lstrip("+~").startswith("synth=") for o in overrides):
        overrides.insert(0, f"+synth={args.method}")
    args.overrides = overrides
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    if args.method == "alchemy":
        return _alchemy(args, cfg)
    from prover.errors import ConfigError
    from prover.lean.factory import LeanUnavailable, make_session, preflight
    from prover.settings import load_settings
    from prover.synthesis.concepts import ConceptError, ConceptLibrary
    from prover.synthesis.llm import LLMError, make_chat_model
    from prover.synthesis.mustard import MustardWriter, run_mustard
    from prover.synthesis.settings import MustardSettings
    from prover.synthesis.store import SynthRunError
    from prover.synthesis.summary import write_summary

    try:
        settings = load_settings(MustardSettings, cfg.synth, "synth", ignore=("name",))
        if args.num is not None:
            if args.num < 1:
                raise CliError(f"--num must be a positive number, got {args.num}")
            settings.num = args.num
        library = ConceptLibrary.load(_resolve(settings.concepts))
        # a bad level, domain or concept name fails here, before any model call
        library.draw(
            Random(0), settings.sampling, settings.k, settings.level, settings.domain, settings.fixed_concepts
        )
        preflight(cfg.backend)
    except (ConfigError, ConceptError) as exc:
        raise CliError(str(exc)) from None
    except LeanUnavailable as exc:
        raise EnvironmentFailure(str(exc)) from None
    out = args.out or Path(str(cfg.get("runs_dir", "runs"))) / f"mustard-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        model = make_chat_model(settings.llm)
    except LLMError as exc:
        raise CliError(str(exc)) from None
    try:
        with make_session(cfg.backend) as session:
            writer = MustardWriter(settings, library, model, session)
            summary = run_mustard(settings, writer, out, on_record=lambda r: emit(_brief(r)))
    except SynthRunError as exc:
        raise CliError(str(exc)) from None
    except LLMError as exc:
        raise EnvironmentFailure(
            f"{exc} (finished samples are kept in {out}; run again with --out to resume)"
        ) from None
    md, png = write_summary(summary.records, out)
    ok = sum(1 for r in summary.records if r.get("verdict") == "verified")
    emit(
        {
            "run_dir": str(out),
            "samples": len(summary.records),
            "written": summary.written,
            "skipped": summary.skipped,
            "verified": ok,
            "summary": str(md),
            "plot": str(png) if png else None,
        }
    )
    return 0


def _alchemy(args: argparse.Namespace, cfg) -> int:
    from prover.errors import ConfigError
    from prover.lean.factory import LeanUnavailable, make_session, preflight
    from prover.settings import load_settings
    from prover.synthesis.alchemy import AlchemyInputError, load_rules, load_targets, run_alchemy
    from prover.synthesis.settings import AlchemySettings
    from prover.synthesis.store import SynthRunError

    if args.num is not None:
        raise CliError("--num goes with 'prover synth mustard'")
    try:
        settings = load_settings(AlchemySettings, cfg.synth, "synth", ignore=("name",))
        if not settings.targets or not settings.rules:
            raise CliError("prover synth alchemy needs synth.targets=FILE and synth.rules=FILE")
        targets = load_targets(Path(settings.targets))
        rules = load_rules(Path(settings.rules))
        preflight(cfg.backend)
    except (ConfigError, AlchemyInputError) as exc:
        raise CliError(str(exc)) from None
    except LeanUnavailable as exc:
        raise EnvironmentFailure(str(exc)) from None
    out = args.out or Path(str(cfg.get("runs_dir", "runs"))) / f"alchemy-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        with make_session(cfg.backend) as session:
            counts, variants = run_alchemy(
                session, targets, rules, out, settings.model_dump(), use_prefilter=settings.prefilter
            )
    except SynthRunError as exc:
        raise CliError(str(exc)) from None
    emit({"run_dir": str(out), "targets": len(targets), "rules": len(rules), **counts.__dict__})
    return 0


def _brief(record: dict) -> dict:
    return {k: record.get(k) for k in ("id", "level", "domain", "concepts", "verdict", "labels")}


def _resolve(path: str) -> Path:
    from prover.lean.factory import world_path

    return world_path(path)  # as given, else relative to the repository root
