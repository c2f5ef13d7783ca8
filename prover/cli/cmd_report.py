"""``prover report``: Markdown + HTML report, plots and a checkable proofs.lean for a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from prover.cli.common import CliError, emit


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write Markdown/HTML reports of a run directory")
    parser.add_argument("run_dir", type=Path, help="a directory written by `prover prove`")
    parser.add_argument("--compare", type=Path, metavar="OTHER_RUN", help="another run to compare with")
    parser.add_argument("--out", type=Path, help="report folder (default: RUN_DIR/report)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from prover.evaluation.report import ReportError, load_run, summary_json, write_report
    from prover.evaluation.results import RunError
    from prover.fps.report import is_solve_run, write_solve_report

    try:
        if args.run_dir.is_dir() and is_solve_run(args.run_dir):  # `prover solve` runs: the FPS report
            if args.compare is not None or args.out is not None:
                raise CliError("a `prover solve` run has one report, RUN_DIR/report.md: no --compare/--out")
            report, fps = write_solve_report(args.run_dir)
            emit({"run": str(args.run_dir), "kind": "solve", **fps.to_json(), "files": {"md": str(report)}})
            return 0
        files = write_report(args.run_dir, args.compare, args.out)
        summary = summary_json(load_run(args.run_dir))
    except (ReportError, RunError) as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:  # an --out that cannot be created or written: one sentence, no traceback
        where = exc.filename or args.out or args.run_dir
        raise CliError(f"cannot write the report to {where}: {exc.strerror or exc}") from None
    emit(
        {
            **{k: summary[k] for k in ("run", "solved", "total", "pass_rate", "budget", "backend")},
            "not_solved": len(summary["not_solved"]),
            **({"warning": summary["benchmark_warning"]} if summary["benchmark_warning"] else {}),
            "files": {k: str(v) for k, v in files.items()},
        }
    )
    return 0
