"""``prover data build-train`` / ``prover data curate``: training data from our sources, and its curation.

Parsing and printing only; the work is :mod:`prover.training.build` and :mod:`prover.training.curate`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prover.cli.common import CliError, emit


def register(inner: argparse._SubParsersAction) -> None:
    """Add the two actions to ``prover data``'s sub-parsers."""
    p = inner.add_parser(
        "build-train",
        help="write training data (tactic / critic / premise / proof JSONL, split by theorem) from our sources",
    )
    p.add_argument("--out", required=True, type=Path, help="data directory to write")
    p.add_argument("--tactics", action="append", default=[], type=Path, help="tactic JSONL (repeatable)")
    p.add_argument(
        "--run",
        action="append",
        default=[],
        type=Path,
        help="`prover prove` run dir (repeatable): proved paths of saved trees -> tactic.jsonl, their states -> "
        "critic.jsonl, every proved problem's whole proof -> proof.jsonl",
    )
    p.add_argument(
        "--allow-simulation",
        action="store_true",
        help="also read --run directories judged by a simulation (a scripted world, not Lean); refused by "
        "default, and when allowed their records say provenance.simulation=true",
    )
    p.add_argument(
        "--synth",
        action="append",
        default=[],
        type=Path,
        help="`prover synth` run dir (repeatable): verified samples -> proof.jsonl (statement, whole proof)",
    )
    p.add_argument(
        "--leandojo", type=Path, help="a LeanDojo Benchmark 4 directory (random/, novel_premises/)"
    )
    p.add_argument("--leandojo-split", choices=["random", "novel_premises"], default="random")
    p.add_argument(
        "--premise-corpus",
        type=Path,
        help="a premise corpus (JSONL or LeanDojo corpus.jsonl): also write (state, used premises) pairs for "
        "the tactics of --tactics/--run/--synth, read off the tactic text",
    )
    p.add_argument(
        "--keep-degenerate",
        action="store_true",
        help="keep synthesised whole proofs labelled degenerate (trivial / contradictory); dropped by default",
    )
    p.add_argument("--lean", help="Lean version of the tactic JSONL (provenance)")
    p.add_argument("--mathlib", help="Mathlib version of the tactic JSONL (provenance)")
    p.add_argument("--val", type=float, default=0.1, help="fraction of theorems in val (default 0.1)")
    p.add_argument("--test", type=float, default=0.1, help="fraction of theorems in test (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_build)

    p = inner.add_parser(
        "curate",
        help="prune tactic data by rules (each a switch) and drop degenerate synthesised proofs; print how many "
        "records each rule removed",
    )
    p.add_argument("data", type=Path, help="a data directory from build-train (reads tactic.jsonl)")
    p.add_argument("--out", required=True, type=Path, help="data directory to write (other files copied)")
    p.add_argument("--config", type=Path, help="curation YAML (default configs/curate/default.yaml)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. drop_easy=true easy_runs=[RUN]")
    p.set_defaults(func=_curate)


def _build(args: argparse.Namespace) -> int:
    from prover.training.build import BuildInputs, build

    if not (args.tactics or args.run or args.leandojo or args.synth):
        raise CliError("nothing to build from: give --tactics, --run, --synth or --leandojo")
    _check_out_dir(args.out)
    simulated = _simulation_runs(args.run)
    if simulated and not args.allow_simulation:
        raise CliError(
            f"{simulated[0]} was judged by a simulation (scripted world), not Lean; pass --allow-simulation "
            "to use it anyway"
        )
    inputs = BuildInputs(
        tactic_files=list(args.tactics),
        run_dirs=list(args.run),
        synth_dirs=list(args.synth),
        leandojo=args.leandojo,
        leandojo_split=args.leandojo_split,
        lean=args.lean,
        mathlib=args.mathlib,
        premise_corpus=args.premise_corpus,
        keep_degenerate=args.keep_degenerate,
    )
    try:
        summary = build(inputs, args.out, args.val, args.test, args.seed)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    for run in summary.get("simulation_runs", []):
        print(
            f"prover data: {run} was judged by a simulation (scripted world), not Lean: its records say "
            "provenance.simulation=true",
            file=sys.stderr,
        )
    emit(summary)
    return 0


def _simulation_runs(runs: list[Path]) -> list[Path]:
    """The ``--run`` directories whose proofs a simulation judged (checked before any data is read)."""
    from prover.training.records import TrainingDataError
    from prover.training.sources import is_simulation_run

    try:
        return [run for run in runs if is_simulation_run(run)]
    except TrainingDataError as exc:
        raise CliError(str(exc)) from None


def _check_out_dir(out: Path) -> None:
    """``--out`` must be (or become) a directory: a file there is one sentence before any work starts."""
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file, not a directory; give a directory to write the data into")
    parent = next((p for p in out.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise CliError(f"--out {out}: {parent} is a file, not a directory")


def _curate_settings(args: argparse.Namespace):
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from prover.config import config_dir
    from prover.settings import load_settings
    from prover.training.settings import CurateSettings

    path = args.config or config_dir() / "curate" / "default.yaml"
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        raise CliError(f"not an override (KEY=VALUE expected): {' '.join(bad)}")
    try:
        cfg = OmegaConf.merge(OmegaConf.load(path), OmegaConf.from_dotlist(list(args.overrides)))
    except (OSError, OmegaConfBaseException) as exc:
        raise CliError(f"bad curation config {path}: {str(exc).splitlines()[0]}") from exc
    return load_settings(CurateSettings, cfg, "curate")


def _curate(args: argparse.Namespace) -> int:
    from prover.training.curate import curate_dir

    settings = _curate_settings(args)
    _check_out_dir(args.out)
    if settings.drop_easy and not settings.easy_runs:
        raise CliError(
            "drop_easy=true needs easy_runs=[RUN_DIR, ...]: the runs whose solved problems to drop"
        )
    for run in settings.easy_runs:
        if not (Path(run) / "results.jsonl").is_file():
            raise CliError(f"easy_runs: {run} is not a `prover prove` run directory (no results.jsonl)")
    try:
        report = curate_dir(args.data, args.out, settings)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for rule, n in report.removed.items():
        print(f"prover data curate: {rule}: removed {n}", file=sys.stderr)
    emit(
        {
            "before": report.before,
            "after": report.after,
            "removed": report.removed,
            "ineffective": report.ineffective,
            "out": str(args.out.resolve()),
        }
    )
    return 0
