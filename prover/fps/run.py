"""``prover solve`` runs: the evaluation machinery of ``prover prove`` with an FPS worker.

Reused, not copied: the executors (``WorkerSpec`` + ``make_executor``), the driver loop ``run_problems``
(append-only ``results.jsonl`` with fsync, torn-tail cut, finished problems skipped on resume), the run
directory lock, ``config.yaml`` and resume rules (``resume_config``: only ``executor.*`` overrides) and the
version record. The FPS outcome rides in each record's ``answer`` field; the record's ``status`` is
``proved`` only for a solved problem (submitted, recompiled with the answer substituted, RPE-correct).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.evaluation.benchmarks import Problem
from prover.evaluation.results import AttemptRecord, ResultStore, new_run_dir, package_version, write_run_meta
from prover.evaluation.runner import ExecutionSummary, SetupError, model_name
from prover.fps.check import FpsChecker
from prover.fps.problem import FpsLoadError, FpsProblem, load_fps_benchmark
from prover.fps.settings import SolverSettings
from prover.fps.solver import SolveRecord, solve_problem
from prover.fps.statements import fps_theorem
from prover.search.settings import search_settings
from prover.search.status import ProofStatus
from prover.settings import load_settings

WORKER_FACTORY = "prover.fps.run:FpsWorker"
_STATUS = {
    "solved": ProofStatus.PROVED,
    "ne_submitted": ProofStatus.FAILED,
    "unsubmitted": ProofStatus.FAILED,
    "invalid": ProofStatus.ERROR,
    "error": ProofStatus.ERROR,
}


def solver_settings(cfg: Any) -> SolverSettings:
    return load_settings(SolverSettings, cfg, "solver", ignore=("name",))


def load_problems(benchmark_cfg: Any) -> tuple[list[FpsProblem], list[tuple[str, str]]]:
    """The selected FPS problems of ``cfg.benchmark`` (``name`` from the manifest or ``path``, ``limit``, ``names``)."""
    data = (
        OmegaConf.to_container(benchmark_cfg, resolve=True)
        if isinstance(benchmark_cfg, DictConfig)
        else dict(benchmark_cfg or {})
    )
    names = data.get("names")
    problems, report = load_fps_benchmark(
        data.get("name"),
        data.get("path"),
        data.get("limit"),
        [names] if isinstance(names, str) else names,
    )
    return problems, report.skipped


def as_problem(problem: FpsProblem) -> Problem:
    """The run loop's view of an FPS problem: its id and FPS statement (the answer type as category)."""
    return Problem(problem.id, fps_theorem(problem), None, problem.category)


class FpsWorker:
    """Solves one FPS problem per ``run``; owns a session, generator, searcher and checker for its lifetime.

    Built from plain config by the executors (local processes and Ray alike); it loads the benchmark itself
    and finds each job's problem by id.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.settings = solver_settings(config.get("solver"))
        self.search = search_settings(config["search"])
        self._problems: dict[str, FpsProblem] | None = None
        self._session: Any = None
        self._generator: Any = None
        self._searcher: Any = None
        self._checker: FpsChecker | None = None
        self.load_s = 0.0

    def prepare(self) -> None:
        t0 = time.monotonic()
        if self._problems is None:
            problems, _ = load_problems({**self.config["benchmark"], "limit": None, "names": None})
            self._problems = {p.id: p for p in problems}
        if self._generator is None:
            from prover.generation.factory import make_generator

            self._generator = make_generator(
                self.config["generator"], retriever_cfg=self.config.get("retriever")
            )
        if self._searcher is None:
            from prover.search.factory import make_searcher

            self._searcher = make_searcher(self.search)
        if self._session is None:
            from prover.lean.factory import make_session

            self._session = make_session(self.config["backend"])
            self._checker = FpsChecker(self._session, self.settings)
        self.load_s += time.monotonic() - t0

    def run(self, job: dict[str, Any]) -> AttemptRecord:
        problem = Problem.from_json(job)
        started = time.monotonic()
        try:
            self.prepare()
            assert self._problems is not None and self._checker is not None
            started = time.monotonic()
            fps = self._problems[problem.id]
            record = solve_problem(self._session, fps, self._searcher, self._generator, self._checker)
        except Exception as exc:  # this problem's result; the run goes on
            record = SolveRecord(problem.id, "error", reason=f"{type(exc).__name__}: {exc}".splitlines()[0])
            self._reset_session()
        return to_attempt(problem, record, self.search.budget, time.monotonic() - started)

    def _reset_session(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()
        self._session = self._checker = None

    def close(self) -> None:
        for obj in (self._generator, self._session):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()
        self._generator = self._session = self._checker = None


def to_attempt(problem: Problem, record: SolveRecord, budget: str, time_s: float) -> AttemptRecord:
    """One ``results.jsonl`` line: the run loop's fields, with the FPS outcome in ``answer``."""
    stats = record.search.get("stats") or {}
    return AttemptRecord(
        problem=problem.id,
        theorem=problem.theorem.name,
        header=problem.theorem.header,
        statement=problem.theorem.statement,
        category=problem.category,
        status=_STATUS.get(record.status, ProofStatus.ERROR),
        proof=record.proof or None,
        budget=budget,
        stats=stats,
        time_s=time_s,
        error=record.reason or None if record.status in ("error", "invalid") else None,
        mode=f"solve-{record.mode}",
        answer=record.to_json(),
    )


@dataclass
class SolveRun:
    """A prepared ``prover solve`` run (see ``prover.evaluation.run_dir.EvaluationRun`` for the rules)."""

    cfg: DictConfig
    run_dir: Path
    problems: list[Problem]
    store: ResultStore
    lock: Any
    run_fields: dict[str, Any]
    container: dict[str, Any]
    worker: FpsWorker | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def prepare(
        cls,
        cfg: DictConfig,
        run_dir: Path | None = None,
        *,
        resume: bool = False,
        command: Sequence[str] | None = None,
    ) -> SolveRun:
        from prover.evaluation.executors import make_executor
        from prover.evaluation.run_dir import RunDirLock, check_new_run_dir, create_run_dir
        from prover.evaluation.versions import run_versions
        from prover.lean.factory import LeanUnavailable, preflight

        if run_dir is None:
            run_dir = new_run_dir(Path(str(cfg.get("runs_dir", "runs"))), str(cfg.benchmark.name), "solve")
        if not resume:
            check_new_run_dir(run_dir)
        try:
            fps_problems, skipped = load_problems(cfg.benchmark)
        except (FpsLoadError, ValueError) as exc:
            raise SetupError(f"benchmark: {str(exc).splitlines()[0]}", 2) from None
        if not fps_problems:
            raise SetupError("the benchmark selection is empty")
        container = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(container, dict)
        try:
            solver_settings(container.get("solver"))
            make_executor(cfg.executor)
        except Exception as exc:
            raise SetupError(str(exc).splitlines()[0], 2) from None
        lock = RunDirLock(run_dir)
        if resume:
            lock.acquire()
        worker = None
        try:
            try:
                preflight(cfg.backend)
            except LeanUnavailable as exc:
                raise SetupError(str(exc), 2 if cfg.backend.get("name") == "scripted" else 1) from None
            except (ValueError, TypeError) as exc:
                raise SetupError(str(exc).splitlines()[0], 2) from None
            try:
                worker = FpsWorker(container)
                worker.prepare()
            except Exception as exc:
                raise SetupError(f"{type(exc).__name__}: {exc}".splitlines()[0], 2) from None
            try:  # one session start, as `prover prove` does: Lean that cannot start is one line, not N errors
                worker._session.start(fps_theorem(fps_problems[0]))
            except Exception as exc:
                raise SetupError(
                    f"the Lean backend failed on the first problem: {exc}".splitlines()[0], 1
                ) from None
            if not resume:
                create_run_dir(run_dir, cfg, lock)
            store = ResultStore(run_dir)
        except BaseException:
            if worker is not None:
                worker.close()
            lock.release()
            raise
        run_fields = {
            "model": model_name(container["generator"]),
            "package": package_version(),
            **run_versions(cfg.backend, getattr(worker, "_session", None)),
        }
        write_run_meta(
            run_dir,
            {
                **run_fields,
                "benchmark": container["benchmark"],
                "solver": container.get("solver"),
                "created": time.time(),
                "command": list(command if command is not None else sys.argv),
                "load_s": round(worker.load_s, 3),
            },
        )
        problems = [as_problem(p) for p in fps_problems]
        return cls(cfg, run_dir, problems, store, lock, run_fields, container, worker, skipped)

    def execute(self, on_record: Callable[[AttemptRecord], None] | None = None) -> ExecutionSummary:
        from prover.evaluation.executors import WorkerSpec, make_executor
        from prover.evaluation.runner import run_problems

        executor = make_executor(self.cfg.executor)
        spec = WorkerSpec(WORKER_FACTORY, self.container)
        worker, self.worker = self.worker, None
        return run_problems(
            self.problems, self.store, spec, executor, self.run_fields, on_record, worker=worker
        )

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        self.store.close()
        self.lock.release()

    def __enter__(self) -> SolveRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
