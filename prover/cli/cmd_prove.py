"""``prover prove``: prove a benchmark with search or whole-proof sampling; resumable, parallel, verified.

Parsing and printing only: the run lifecycle (preflight, run directory, lock, resume) is
``prover.evaluation.run_dir``. The run options, their checks and the progress bar are shared with
``prover solve`` (:func:`add_run_arguments`, :func:`prepare_run`, :class:`RunProgressBar`). Exit codes:
0 done (unsolved and per-problem ``error`` results included), 2 bad config or input (nothing written),
1 broken environment (Lean/REPL/model cannot start, run directory locked by another process; nothing
written), 130 interrupted (finished results kept).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.cli.common import (
    CliError,
    EnvironmentFailure,
    add_config_args,
    announce_simulation,
    emit,
    load_config,
    print_config_if_asked,
    simulation_text,
)

if TYPE_CHECKING:
    from prover.evaluation.run_dir import EvaluationRun, RunKind, RunProgress


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "prove",
        help="prove a benchmark with search or whole-proof sampling",
        description="Run every problem of a benchmark with a per-problem budget over a pool of workers. "
        "Results are appended to RUN_DIR/results.jsonl (one line per problem); --resume RUN_DIR "
        "continues a killed run without repeating finished problems. A setup error (bad config, "
        "missing model/corpus/world, Lean that cannot start) stops before anything is written: exit 2 "
        "for bad config or input, 1 for the environment or a run directory in use.",
    )
    add_run_arguments(parser, "<bench>-<search>-<time>")
    parser.add_argument(
        "--save-trees",
        action="store_true",
        help="write each problem's search graph to RUN_DIR/trees/ (draw with `prover tree render`)",
    )
    add_config_args(parser)
    parser.set_defaults(func=run)


def add_run_arguments(parser: argparse.ArgumentParser, default_dir: str) -> None:
    """The options of a resumable benchmark run (``prover prove``, ``prover solve``)."""
    parser.add_argument("--out", type=Path, help=f"run directory to create (default: runs_dir/{default_dir})")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument(
        "--retry-errors",
        action="store_true",
        help="with --resume: run again the problems whose result is `error` (skipped otherwise)",
    )
    parser.add_argument("--limit", type=int, help="only the first N problems (after benchmark.split)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def prepare_run(args: argparse.Namespace, kind: RunKind, command: str) -> EvaluationRun | None:
    """Check the run options, compose (or, with ``--resume``, reload) the config and prepare the run of
    ``kind``; None when ``--cfg`` only printed the config. Setup problems become the CLI's one-line errors."""
    from omegaconf import OmegaConf

    from prover.evaluation.run_dir import EvaluationRun, RunLocked, SetupError, resume_config

    if args.resume is not None and args.out is not None:
        raise CliError("give either --out (new run) or --resume (existing run), not both")
    if args.retry_errors and args.resume is None:
        raise CliError("--retry-errors needs --resume RUN_DIR")
    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit must be >= 1, got {args.limit}")
    try:
        cfg = _load_config(args) if args.resume is None else resume_config(args.resume, args.overrides)
        if print_config_if_asked(args, cfg):
            return None
        if args.limit is not None:
            OmegaConf.update(cfg, "benchmark.limit", args.limit, force_add=True)
        return EvaluationRun.prepare(
            cfg,
            args.resume if args.resume is not None else args.out,
            kind=kind,
            resume=args.resume is not None,
            retry_errors=args.retry_errors,
            save_trees=bool(getattr(args, "save_trees", False)),
            command=sys.argv,
            on_skip=lambda name, reason: print(f"{command}: skipped {name}: {reason}", file=sys.stderr),
        )
    except SetupError as exc:
        raise (EnvironmentFailure if exc.exit_code == 1 else CliError)(str(exc)) from None
    except RunLocked as exc:
        raise EnvironmentFailure(str(exc)) from None


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: executors stop their workers, finished results stay."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load_config(args: argparse.Namespace):
    """The composed config; hydra's multi-line messages folded into the one line a user gets."""
    try:
        return load_config(args)
    except CliError as exc:
        raise CliError(" ".join(line.strip() for line in str(exc).splitlines() if line.strip())) from None


def run(args: argparse.Namespace) -> int:
    with sigterm_interrupts():
        return _run(args)


def simulation_note(prepared: Any) -> str | bool:
    """The start/done events' ``simulation`` field: ``"BACKEND: no Lean ran"`` for a scripted world or a double,
    ``false`` when Lean ran (always present, so a reader of the JSON lines never has to infer it)."""
    return simulation_text(getattr(prepared, "run_fields", None) or {})


def emit_start(prepared: Any) -> Any:
    """The ``start`` event of a run (``prover prove`` / ``prover solve``); returns where the run stands."""
    before = prepared.progress()
    event = {
        "event": "start",
        "run_dir": str(prepared.run_dir),
        "problems": before.total,
        "already_finished": before.finished,
        "retrying": prepared.retried,
        "load_s": round(prepared.load_s, 3),
    }
    event["simulation"] = announce_simulation(
        prepared.kind.command, getattr(prepared, "run_fields", None) or {}
    )
    emit(event)
    return before


def _run(args: argparse.Namespace) -> int:
    from prover.evaluation.executors import ExecutorError
    from prover.evaluation.run_dir import PROVE

    prepared = prepare_run(args, PROVE, "prover prove")
    if prepared is None:
        return 0
    with prepared:
        before = emit_start(prepared)
        with RunProgressBar(before, args.no_progress) as tick:
            try:
                summary = prepared.execute(on_record=tick)
            except ExecutorError as exc:
                raise EnvironmentFailure(str(exc)) from None
        after = prepared.progress()
    emit(
        {
            "event": "done",
            "run_dir": str(prepared.run_dir),
            "solved": after.solved,
            "finished": after.finished,
            "total": after.total,
            "pass_rate": after.pass_rate,
            "attempted_now": summary.attempted,
            "errors": after.errors,
            "budget": after.budget,
            "simulation": simulation_note(prepared),
        }
    )
    if after.errors:
        print(
            f"prover prove: {len(after.errors)} problem(s) ended in error (see results.jsonl); "
            f"rerun them with: prover prove --resume {prepared.run_dir} --retry-errors",
            file=sys.stderr,
        )
    return 0


class RunProgressBar:
    """A rich progress bar (stderr) with solved / attempted / rate / ETA; also prints one JSON line per problem
    (``fields`` adds to or replaces that line's keys, e.g. ``prover solve``'s answer)."""

    def __init__(
        self,
        start: RunProgress,
        disabled: bool,
        label: str = "prove",
        fields: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.total = start.total
        self.done = start.finished
        self.solved = start.solved
        self.disabled = disabled
        self.label = label
        self.fields = fields
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
                TextColumn(f"[bold]{self.label}"),
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
                self.label, total=self.total, completed=self.done, solved=self.solved, rate=self._rate()
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
                **(self.fields(record) if self.fields is not None else {}),
            }
        )
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, solved=self.solved, rate=self._rate())

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
