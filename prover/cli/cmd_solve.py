"""``prover solve``: formal problem solving (FPS) over a benchmark, or one RPE check with ``--check``.

Parsing and printing only: the run is ``prover.fps.run.SolveRun`` (the ``prover prove`` machinery), the
check ``prover.fps.check.FpsChecker``. Exit codes as ``prover prove``: 0 done, 2 bad config or input
(nothing written), 1 broken environment, 130 interrupted (finished results kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
        "solve",
        help="formal problem solving (FPS) with RPE answer checking",
        description="Find and prove answers: `prover solve benchmark=fps_formal_math500 solver=fps search=bfs "
        "generator=...` (resumable: --resume RUN_DIR), or check one answer: `prover solve --check --problem "
        "FILE_OR_JSON --answer TEXT`.",
    )
    parser.add_argument(
        "--out", type=Path, help="run directory to create (default: runs_dir/<bench>-solve-<time>)"
    )
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--check", action="store_true", help="one RPE check of --answer against --problem")
    parser.add_argument(
        "--problem", help="with --check: a problem as JSON, or a .json/.jsonl file (first line)"
    )
    parser.add_argument("--id", help="with --check and a .jsonl file: the problem with this id")
    parser.add_argument("--answer", help="with --check: the submitted answer (a Lean term)")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args)
    if args.problem or args.answer:
        raise CliError("--problem/--answer go with --check")
    return _solve(args)


def _read_problem(text: str, ident: str | None):
    from prover.fps.problem import FpsLoadError, load_fps_file, problem_from_json, select_problems

    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise CliError(f"--problem: not JSON ({exc.msg} at column {exc.colno})") from None
        try:
            return problem_from_json(obj, str(obj.get("id") or ident or "problem"), "command line")
        except ValueError as exc:
            raise CliError(f"--problem: {exc}") from None
    path = Path(stripped)
    try:
        if path.suffix == ".json":
            obj = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(obj, dict):
                raise CliError(f"{path}: expected one JSON object (a problem)")
            return problem_from_json(obj, str(obj.get("id") or path.stem), str(path))
        report = load_fps_file(path)
        chosen = select_problems(report.problems, names=[ident] if ident else None)
        return chosen[0]
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--problem: cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON ({exc.msg})") from None
    except (FpsLoadError, ValueError) as exc:
        raise CliError(f"--problem: {str(exc).splitlines()[0]}") from None


def _check(args: argparse.Namespace) -> int:
    from prover.fps.check import CheckUnavailable, FpsChecker
    from prover.fps.run import solver_settings
    from prover.lean.factory import LeanUnavailable, make_session, preflight

    if args.resume or args.out or args.limit:
        raise CliError("--check runs one check: --out/--resume/--limit do not apply")
    if not args.problem or args.answer is None:
        raise CliError("--check needs --problem FILE_OR_JSON and --answer TEXT")
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    problem = _read_problem(args.problem, args.id)
    try:
        settings = solver_settings(cfg.get("solver"))
        preflight(cfg.backend)
        session = make_session(cfg.backend)
    except LeanUnavailable as exc:
        raise EnvironmentFailure(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    with session:
        checker = FpsChecker(session, settings)
        try:
            rpe = checker.rpe(problem, args.answer)
            restatement = checker.restatement(problem, args.answer, None)
        except CheckUnavailable as exc:
            raise CliError(str(exc)) from None
    emit(
        {
            "problem": problem.id,
            "answer": args.answer,
            "correct": rpe.correct,
            "reasons": list(rpe.reasons),
            "rpe_tactics": list(rpe.tactics),
            "dropped_tactics": checker.dropped_tactics,
            "restatement": restatement.to_json(),
            "ground_truth": problem.formal_answer,
        }
    )
    return 0


def _solve(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from prover.evaluation.run_dir import RunLocked, SetupError, resume_config
    from prover.fps.report import write_solve_report
    from prover.fps.run import SolveRun

    if args.resume is not None and args.out is not None:
        raise CliError("give either --out (new run) or --resume (existing run), not both")
    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit must be >= 1, got {args.limit}")
    try:
        cfg = load_config(args) if args.resume is None else resume_config(args.resume, args.overrides)
        if print_config_if_asked(args, cfg):
            return 0
        if args.limit is not None:
            OmegaConf.update(cfg, "benchmark.limit", args.limit, force_add=True)
        prepared = SolveRun.prepare(
            cfg, args.resume if args.resume is not None else args.out, resume=args.resume is not None
        )
    except SetupError as exc:
        raise (EnvironmentFailure if exc.exit_code == 1 else CliError)(str(exc)) from None
    except RunLocked as exc:
        raise EnvironmentFailure(str(exc)) from None
    for name, reason in prepared.skipped:
        print(f"prover solve: skipped {name}: {reason}", file=sys.stderr)
    interrupted = False
    with prepared:
        emit(
            {
                "event": "start",
                "run_dir": str(prepared.run_dir),
                "problems": len(prepared.problems),
                "already_finished": len(prepared.store.finished & {p.id for p in prepared.problems}),
            }
        )
        try:
            prepared.execute(
                on_record=lambda r: emit(
                    {
                        "event": "problem",
                        "problem": r.problem,
                        "status": (r.answer or {}).get("status"),
                        "answer": (r.answer or {}).get("answer"),
                        "proven": bool((r.answer or {}).get("proven")),
                        "time_s": round(r.time_s, 2),
                    }
                )
            )
        except KeyboardInterrupt:
            interrupted = True
        run_dir = prepared.run_dir
        ids = {p.id for p in prepared.problems}
    report, summary = write_solve_report(run_dir, ids)
    emit(
        {
            "event": "interrupted" if interrupted else "done",
            "run_dir": str(run_dir),
            "report": str(report),
            **summary.to_json(),
        }
    )
    return 130 if interrupted else 0
