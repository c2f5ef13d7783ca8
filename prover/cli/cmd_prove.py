"""``prover prove``: prove a benchmark with search or whole-proof sampling; resumable, parallel, verified."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prover.cli.common import CliError, add_config_args, emit, load_config, print_config_if_asked

#: Overrides allowed together with --resume: they change how, not what, is run.
_RESUME_SAFE = ("executor", "executor.")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "prove",
        help="prove a benchmark with search or whole-proof sampling",
        description="Run every problem of a benchmark with a per-problem budget over a pool of workers. "
        "Results are appended to RUN_DIR/results.jsonl (one line per problem); --resume RUN_DIR "
        "continues a killed run without repeating finished problems.",
    )
    parser.add_argument(
        "--out", type=Path, help="run directory to create (default: runs_dir/<bench>-<search>-<time>)"
    )
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument("--limit", type=int, help="only the first N problems (after benchmark.split)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--save-trees",
        action="store_true",
        help="write each problem's search graph to RUN_DIR/trees/ (draw with `prover tree render`)",
    )
    add_config_args(parser)
    parser.set_defaults(func=run)


def _compose(args: argparse.Namespace):
    from omegaconf import OmegaConf

    if args.resume is None:
        return load_config(args), None
    run_dir = args.resume
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        raise CliError(f"--resume {run_dir}: no config.yaml there (not a run directory)")
    unsafe = [o for o in args.overrides if not o.lstrip("+~").startswith(_RESUME_SAFE)]
    if unsafe:
        raise CliError(
            f"--resume uses the run's saved config; only executor overrides are allowed, got: {' '.join(unsafe)}"
        )
    cfg = OmegaConf.load(saved)
    for override in args.overrides:
        key, _, value = override.partition("=")
        OmegaConf.update(
            cfg, key.lstrip("+"), OmegaConf.create({"v": value})["v"] if value else None, merge=True
        )
    return cfg, run_dir


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from prover.evaluation.benchmarks import BenchmarkError, load_benchmark
    from prover.evaluation.executors import ExecutorError, WorkerSpec, make_executor
    from prover.evaluation.manifest import REPO_ROOT
    from prover.evaluation.results import (
        CONFIG,
        ResultStore,
        RunError,
        lean_versions,
        new_run_dir,
        package_version,
        write_run_meta,
    )
    from prover.evaluation.runner import WORKER_FACTORY, model_name, run_problems

    if args.resume is not None and args.out is not None:
        raise CliError("give either --out (new run) or --resume (existing run), not both")
    cfg, run_dir = _compose(args)
    if print_config_if_asked(args, cfg):
        return 0
    if args.limit is not None:
        if args.limit < 1:
            raise CliError(f"--limit must be >= 1, got {args.limit}")
        OmegaConf.update(cfg, "benchmark.limit", args.limit, force_add=True)
    try:
        problems, report = load_benchmark(cfg.benchmark)
    except BenchmarkError as exc:
        raise CliError(str(exc)) from exc
    for name, reason in report.skipped:
        print(f"prover prove: skipped {name}: {reason}", file=sys.stderr)
    if not problems:
        raise CliError("the benchmark selection is empty")
    from prover.lean.factory import LeanUnavailable, preflight

    try:
        preflight(cfg.backend)
    except LeanUnavailable as exc:
        raise CliError(str(exc)) from exc
    if run_dir is None:
        run_dir = args.out or new_run_dir(
            Path(str(cfg.get("runs_dir", "runs"))), str(cfg.benchmark.name), str(cfg.search.name)
        )
        if (run_dir / "results.jsonl").exists():
            raise CliError(f"{run_dir} already holds results; use --resume {run_dir} to continue it")
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / CONFIG).write_text(OmegaConf.to_yaml(cfg), encoding="utf-8")
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    project = Path(str(cfg.backend.get("project_dir") or REPO_ROOT))
    versions = lean_versions(project if (project / "lean-toolchain").is_file() else REPO_ROOT)
    run_fields = {"model": model_name(container["generator"]), "package": package_version(), **versions}
    write_run_meta(
        run_dir,
        {**run_fields, "benchmark": container["benchmark"], "created": time.time(), "command": sys.argv},
    )
    try:
        executor = make_executor(cfg.executor)
        store = ResultStore(run_dir)
    except (ExecutorError, RunError) as exc:
        raise CliError(str(exc)) from exc
    if args.save_trees:
        container["trees_dir"] = str((run_dir / "trees").resolve())
    spec = WorkerSpec(WORKER_FACTORY, container)
    emit(
        {
            "event": "start",
            "run_dir": str(run_dir),
            "problems": len(problems),
            "already_finished": sum(p.id in store.finished for p in problems),
        }
    )
    with store, _progress(len(problems), store, problems, args.no_progress) as tick:
        try:
            summary = run_problems(problems, store, spec, executor, run_fields, on_record=tick)
        except ExecutorError as exc:
            raise CliError(str(exc)) from exc
    done = [r for r in store.records if r.problem in {p.id for p in problems}]
    solved = sum(r.proved for r in done)
    emit(
        {
            "event": "done",
            "run_dir": str(run_dir),
            "solved": solved,
            "finished": len(done),
            "total": len(problems),
            "pass_rate": solved / len(problems),
            "attempted_now": summary.attempted,
            "budget": done[0].budget if done else None,
        }
    )
    return 0


class _progress:
    """A rich progress bar (stderr) with solved / attempted / rate / ETA; also prints one JSON line per problem."""

    def __init__(self, total: int, store, problems, disabled: bool) -> None:
        ids = {p.id for p in problems}
        self.total = total
        self.done = sum(r.problem in ids for r in store.records)
        self.solved = sum(r.proved for r in store.records if r.problem in ids)
        self.disabled = disabled
        self.progress = None

    def __enter__(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from prover.log import console

        if not self.disabled:
            self.progress = Progress(
                TextColumn("[bold]prove"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("solved {task.fields[solved]} ({task.fields[rate]})"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                "prove", total=self.total, completed=self.done, solved=self.solved, rate=self._rate()
            )
        return self.tick

    def _rate(self) -> str:
        return f"{100 * self.solved / self.done:.1f}%" if self.done else "-"

    def tick(self, record) -> None:
        self.done += 1
        self.solved += record.proved
        emit(
            {
                "event": "problem",
                "problem": record.problem,
                "status": record.status,
                "time_s": round(record.time_s, 3),
                "solved": self.solved,
                "attempted": self.done,
            }
        )
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, solved=self.solved, rate=self._rate())

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
