"""``prover solve``: formal problem solving (FPS) over a benchmark, or one RPE check with ``--check``.

Parsing and printing only: the run is ``prover prove``'s (``EvaluationRun`` of kind
``prover.fps.run.SOLVE``, set up by the same options and checks, ``cmd_prove.prepare_run``), the check
``prover.fps.check.FpsChecker``. Exit codes as ``prover prove``: 0 done, 2 bad config or input (nothing
written), 1 broken environment, 130 interrupted (finished results kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prover.cli.cmd_prove import (
    RunProgressBar,
    add_run_arguments,
    emit_start,
    prepare_run,
    sigterm_interrupts,
    simulation_note,
)
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
    add_run_arguments(parser, "<bench>-solve-<time>")
    parser.add_argument("--check", action="store_true", help="one RPE check of --answer against --problem")
    parser.add_argument(
        "--problem", help="with --check: a problem as JSON, or a .json/.jsonl file (first line)"
    )
    parser.add_argument("--id", help="with --check and a .jsonl file: the problem with this id")
    parser.add_argument("--answer", help="with --check: the submitted answer (a Lean term)")
    parser.add_argument(
        "--check-answers",
        action="store_true",
        help="before a run: pre-flight every formal_answer of the benchmark on the pinned Mathlib and list "
        "those that do not elaborate (one JSON line each, then a summary)",
    )
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.check and args.check_answers:
        raise CliError("--check and --check-answers are two different modes: give one")
    if args.check:
        return _check(args)
    if args.check_answers:
        return _check_answers(args)
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

    _no_run_arguments(args, "--check")
    if args.limit:
        raise CliError("--check runs one check: --limit does not apply")
    if not args.problem or args.answer is None:
        raise CliError("--check needs --problem FILE_OR_JSON and --answer TEXT")
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    problem = _read_problem(args.problem, args.id)
    settings, session = _check_session(args, cfg, "--check")
    judge = _rpe_judge(cfg)  # the judge decides RPE (prover.lean.judge); the session's answer is a hint
    try:
        with session:
            checker = FpsChecker(session, settings, rpe_judge=judge)
            try:
                # the solver's mode decides the form: FPS `answer = (<answer> : T)`, D-FPS `(<answer>) ↔ …`
                rpe = checker.rpe(problem, args.answer)
                restatement = checker.restatement(problem, args.answer, None)
            except CheckUnavailable as exc:
                raise CliError(str(exc)) from None
    finally:
        judge.close()
    emit(
        {
            "problem": problem.id,
            "mode": settings.mode,
            "answer": args.answer,
            "correct": rpe.correct,
            "reasons": list(rpe.reasons),
            "rpe_tactics": list(rpe.tactics),
            "judge": rpe.judge,
            "dropped_tactics": checker.dropped_tactics,
            "restatement": restatement.to_json(),
            "ground_truth": problem.formal_answer,
        }
    )
    return 0


def _rpe_judge(cfg: Any) -> Any:
    """The judge of ``--check``'s RPE verdict (``verify.judge``), built before any check; one sentence if it
    cannot work here."""
    from prover.lean.judge import JudgeError, make_judge

    try:
        return make_judge(cfg.get("verify"), cfg.backend)
    except JudgeError as exc:
        raise EnvironmentFailure(str(exc).splitlines()[0]) from None
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[0]) from None


def _no_run_arguments(args: argparse.Namespace, what: str) -> None:
    if args.resume or args.out or args.retry_errors:
        raise CliError(f"{what} writes no run: --out/--resume/--retry-errors do not apply")


def _check_session(args: argparse.Namespace, cfg: Any, what: str) -> tuple[Any, Any]:
    """The solver settings and a started Lean session for the one-off checks (config errors exit 2)."""
    from prover.fps.run import solver_settings
    from prover.lean.factory import LeanUnavailable, make_session, preflight

    try:
        settings = solver_settings(cfg.get("solver"))
        preflight(cfg.backend)
        return settings, make_session(cfg.backend)
    except LeanUnavailable as exc:
        raise EnvironmentFailure(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[0]) from None


def _check_answers(args: argparse.Namespace) -> int:
    """Pre-flight every selected problem's ``formal_answer`` (``example <intros> (answer : T) : Prop := …``) so
    that a ground truth the pinned Mathlib cannot elaborate is known before a run, not scored as a wrong answer."""
    from tqdm import tqdm

    from prover.fps.check import FpsChecker
    from prover.fps.run import load_problems

    _no_run_arguments(args, "--check-answers")
    if args.problem or args.answer is not None:
        raise CliError("--check-answers reads the configured benchmark: --problem/--answer go with --check")
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    try:
        problems, skipped = load_problems(cfg.benchmark)
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    if args.limit:
        problems = problems[: args.limit]
    settings, session = _check_session(args, cfg, "--check-answers")
    invalid = 0
    with session:
        checker = FpsChecker(session, settings)
        for problem in tqdm(problems, desc="formal answers", disable=args.no_progress, file=sys.stderr):
            why = checker.preflight(problem)
            if why is not None:
                invalid += 1
                emit(_does_not_elaborate(problem.id, why))
    emit(
        {
            "event": "formal_answers",
            "checked": len(problems),
            "invalid": invalid,
            "skipped_when_loading": len(skipped),
        }
    )
    return 0


def _does_not_elaborate(problem: str, why: str) -> dict[str, Any]:
    """One ``--check-answers`` line for a ground truth that does not elaborate, said plainly."""
    from prover.lean.fps_lean import unknown_names

    names = unknown_names(why)
    because = f" (unknown here: {', '.join(names)})" if names else ""
    return {
        "problem": problem,
        "elaborates": False,
        "unknown_names": names,
        "message": f"{problem}: the ground truth does not elaborate on the pinned Mathlib{because}; a run "
        "marks this problem `invalid` (not scored), never a failure of the solver",
        "reason": why,
    }


def _with_reference_budgets(args: argparse.Namespace) -> None:
    """``benchmark=fps_*``: put the reference's budgets (``prover.fps.settings.REFERENCE_BUDGETS``) in front
    of the overrides, for each key not given on the command line and present in the composed config (a new
    run only: a resumed run keeps its saved config). Said on stderr, with how to keep the configured ones."""
    from omegaconf import OmegaConf

    from prover.fps.run import solver_settings
    from prover.fps.settings import REFERENCE_BUDGETS

    if args.resume is not None:
        return
    cfg = load_config(args)
    name = str(OmegaConf.select(cfg, "benchmark.name", default="") or "")
    try:
        wanted = solver_settings(cfg.get("solver")).reference_budgets
    except ValueError:
        return  # the run's own validation names the bad key
    if not name.startswith("fps_") or not wanted:
        return
    given = {o.split("=", 1)[0].lstrip("+~") for o in args.overrides}
    added = [
        f"{key}={value}"
        for key, value in REFERENCE_BUDGETS.items()
        if key not in given and OmegaConf.select(cfg, key, default=None) is not None
    ]
    if added:
        args.overrides = [*added, *args.overrides]
        print(
            f"prover solve: benchmark {name}: the reference's budgets {' '.join(added)} "
            "(give a key to override it, or solver.reference_budgets=false for the configured defaults)",
            file=sys.stderr,
        )


def _solve(args: argparse.Namespace) -> int:
    from prover.evaluation.executors import ExecutorError
    from prover.fps.report import write_solve_report
    from prover.fps.run import SOLVE

    _with_reference_budgets(args)
    with sigterm_interrupts():
        prepared = prepare_run(args, SOLVE, "prover solve")
        if prepared is None:
            return 0
        interrupted = False
        with prepared:
            before = emit_start(prepared)
            with RunProgressBar(before, args.no_progress, "solve", _answer_fields) as tick:
                try:
                    prepared.execute(on_record=tick)
                except KeyboardInterrupt:
                    interrupted = True
                except ExecutorError as exc:
                    raise EnvironmentFailure(str(exc)) from None
            run_dir = prepared.run_dir
            ids = {p.id for p in prepared.problems}
            simulation = simulation_note(prepared)
    report, summary = write_solve_report(run_dir, ids)
    emit(
        {
            "event": "interrupted" if interrupted else "done",
            "run_dir": str(run_dir),
            "report": str(report),
            **summary.to_json(),
            "simulation": simulation,
        }
    )
    if summary.errors and not interrupted:
        print(
            f"prover solve: {summary.errors} problem(s) ended in error (see results.jsonl); "
            f"rerun them with: prover solve --resume {run_dir} --retry-errors",
            file=sys.stderr,
        )
    return 130 if interrupted else 0


def _answer_fields(record) -> dict:
    """A problem line of ``prover solve``: the FPS status (not the run loop's), the answer, Proven."""
    fps = record.answer or {}
    return {"status": fps.get("status"), "answer": fps.get("answer"), "proven": bool(fps.get("proven"))}
