"""``prover synth mustard|alchemy``: Lean-checked synthetic data (``prover.synthesis``). Parsing and printing only.

Exit codes as ``prover prove``: 0 done, 2 bad config or input (nothing written), 1 broken environment (Lean or the
model unreachable; finished samples are kept and ``--out`` the same directory resumes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prover.cli.common import (
    CliError,
    EnvironmentFailure,
    add_config_args,
    announce_simulation,
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
    parser.add_argument(
        "--retry-errors",
        action="store_true",
        help="mustard: write again the samples of --out whose record is an error (endpoint down, crash)",
    )
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
    from prover.evaluation.run_dir import RunLocked, SetupError
    from prover.settings import load_settings
    from prover.synthesis.mustard import MustardRun, MustardStopped
    from prover.synthesis.settings import MustardSettings
    from prover.synthesis.summary import write_summary

    try:
        settings = load_settings(MustardSettings, cfg.synth, "synth", ignore=("name",))
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if args.num is not None:
        if args.num < 1:
            raise CliError(f"--num must be a positive number, got {args.num}")
        settings.num = args.num
    if args.retry_errors and args.out is None:
        raise CliError("--retry-errors needs --out RUN_DIR (the run whose error samples to write again)")
    out = args.out or Path(str(cfg.get("runs_dir", "runs"))) / f"mustard-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        prepared = MustardRun.prepare(
            settings,
            cfg.backend,
            out,
            retry_errors=args.retry_errors,
            command=sys.argv,
            verify=cfg.get("verify"),  # the judge of "verified" honours verify.* overrides
        )
    except SetupError as exc:
        raise (EnvironmentFailure if exc.exit_code == 1 else CliError)(str(exc)) from None
    except RunLocked as exc:
        raise EnvironmentFailure(str(exc)) from None
    simulation = _simulation("prover synth mustard", prepared.versions)
    with prepared:
        try:
            summary = prepared.execute(on_record=lambda r: emit(_brief(r)))
        except MustardStopped as exc:
            write_summary(prepared.store.records, out)
            raise EnvironmentFailure(str(exc)) from None
    md, png = write_summary(summary.records, out)
    ok = sum(1 for r in summary.records if r.get("verdict") == "verified")
    errors = sum(1 for r in summary.records if r.get("verdict") == "error")
    emit(
        {
            "run_dir": str(out),
            "samples": len(summary.records),
            "written": summary.written,
            "skipped": summary.skipped,
            "retried": len(summary.retried),
            "verified": ok,
            "errors": errors,
            "summary": str(md),
            "plot": str(png) if png else None,
            **simulation,
        }
    )
    return 0


def _alchemy(args: argparse.Namespace, cfg) -> int:
    from prover.errors import ConfigError, ProverError
    from prover.evaluation.versions import run_versions
    from prover.lean.factory import LeanUnavailable, make_session, preflight
    from prover.lean.judge import make_judge
    from prover.retrieval.errors import RetrievalError
    from prover.settings import load_settings
    from prover.synthesis.alchemy import (
        AlchemyInputError,
        load_rules,
        load_targets,
        run_alchemy,
        with_pp_options,
    )
    from prover.synthesis.alchemy_rank import make_ranker
    from prover.synthesis.settings import AlchemySettings
    from prover.synthesis.store import SynthRunError

    if args.num is not None or args.retry_errors:
        raise CliError("--num and --retry-errors go with 'prover synth mustard'")
    try:
        settings = load_settings(AlchemySettings, cfg.synth, "synth", ignore=("name",))
        if not settings.targets or not settings.rules:
            raise CliError("prover synth alchemy needs synth.targets=FILE and synth.rules=FILE")
        skipped: list[str] = []
        source_root = Path(settings.source_root) if settings.source_root else None
        targets = load_targets(Path(settings.targets), source_root, settings.leandojo_scheme, skipped)
        targets = with_pp_options(targets, settings.pp_options)
        rules = load_rules(Path(settings.rules))
        ranker = make_ranker(settings, rules)
        preflight(cfg.backend)
    except (ConfigError, AlchemyInputError, RetrievalError) as exc:
        raise CliError(str(exc)) from None
    except LeanUnavailable as exc:
        raise EnvironmentFailure(str(exc)) from None
    try:  # the one judge of "verified" (prover.lean.judge); the search pool's answers are hints
        judge = make_judge(cfg.get("verify"), cfg.backend)
    except (ValueError, ProverError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    out = args.out or Path(str(cfg.get("runs_dir", "runs"))) / f"alchemy-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        with make_session(cfg.backend) as session:
            versions = run_versions(cfg.backend, session, judge.name)  # run.json, records; a simulation?
            simulation = _simulation("prover synth alchemy", versions)
            counts, variants = run_alchemy(
                session, targets, rules, out, settings.model_dump(), settings.prefilter,
                ranker, settings.max_rules, settings.pairs, judge=judge.judge,
                versions=versions, command=sys.argv,
            )  # fmt: skip
    except SynthRunError as exc:
        raise CliError(str(exc)) from None
    finally:
        judge.close()
    emit(
        {"run_dir": str(out), "targets": len(targets), "skipped_targets": len(skipped), "rules": len(rules),
         "judge": judge.name, **counts.__dict__, **simulation}
    )  # fmt: skip
    return 0


def _simulation(command: str, versions: dict) -> dict:
    """A run on a scripted world or another double says so on stderr and in its final JSON line
    (``announce_simulation``, as ``prover prove`` does); ``{}`` for a run on Lean."""
    note = announce_simulation(command, versions)
    return {"simulation": note} if note else {}


def _brief(record: dict) -> dict:
    return {k: record.get(k) for k in ("id", "level", "domain", "concepts", "verdict", "labels")}


def _resolve(path: str) -> Path:
    from prover.lean.factory import world_path

    return world_path(path)  # as given, else relative to the repository root
