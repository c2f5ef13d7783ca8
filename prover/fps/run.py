"""``prover solve`` runs: :data:`SOLVE`, the FPS kind of ``prover.evaluation.run_dir.EvaluationRun``.

One lifecycle for ``prover prove`` and ``prover solve``: ``EvaluationRun.prepare(cfg, kind=SOLVE)`` does the
preflight, lock, ``config.yaml``/``run.json``, resume and ``--retry-errors``; the executors and the driver loop
``run_problems`` (append-only ``results.jsonl``) run :class:`FpsWorker`. What is FPS-specific is here: the
problem loader, the config check and the worker. The FPS outcome rides in each record's ``answer`` field;
the record's ``status`` is ``proved`` only for a solved problem (submitted, verified -- as found or with the
answer substituted --, RPE-correct).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.evaluation.benchmarks import LoadReport, Problem
from prover.evaluation.results import AttemptRecord
from prover.evaluation.run_dir import RunKind
from prover.evaluation.runner import ProblemWorker
from prover.fps.check import FpsChecker
from prover.fps.problem import FpsProblem, load_fps_benchmark
from prover.fps.settings import SolverSettings
from prover.fps.solver import (
    SolveRecord,
    backward_search_settings,
    proving_search_settings,
    solve_problem,
)
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
    raw = (
        OmegaConf.to_container(benchmark_cfg, resolve=True)
        if isinstance(benchmark_cfg, DictConfig)
        else dict(benchmark_cfg or {})
    )
    data: dict[str, Any] = {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
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


@dataclass
class FpsWorker(ProblemWorker):
    """Solves one FPS problem per ``run``: :class:`ProblemWorker`'s session, generator and searcher (and its
    ``preflight``), plus the problems by id, the checker and the backward (``mpr``) searcher.

    Built from plain config by the executors (local processes and Ray alike); it loads the benchmark itself
    and finds each job's problem by id.
    """

    _problems: dict[str, FpsProblem] | None = field(default=None, init=False)
    _checker: FpsChecker | None = field(default=None, init=False)
    _backward: Any = field(default=None, init=False)
    _proving: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.solver = solver_settings(self.config.get("solver"))
        self.backward_search = backward_search_settings(self.settings, self.solver)  # a bad key fails here
        self.proving_search = proving_search_settings(self.settings, self.solver)

    def prepare(self) -> None:
        super().prepare()
        t0 = time.monotonic()
        if self._problems is None:
            problems, _ = load_problems({**self.config["benchmark"], "limit": None, "names": None})
            self._problems = {p.id: p for p in problems}
        if self._backward is None:
            from prover.search.factory import make_searcher

            self._backward = make_searcher(self.backward_search)
        if self._proving is None:
            from prover.search.factory import make_searcher

            self._proving = make_searcher(self.proving_search)
        if self._checker is None or self._checker.session is not self._session:
            self._checker = FpsChecker(
                self._session, self.solver, judge=self.prover.judge, rpe_judge=self.prover.command_judge
            )
        self.load_s += time.monotonic() - t0

    def run(self, job: dict[str, Any]) -> AttemptRecord:
        problem = Problem.from_json(job)
        started = time.monotonic()
        try:
            self.prepare()
            assert self._problems is not None and self._checker is not None
            started = time.monotonic()
            record = solve_problem(
                self._session,
                self._problems[problem.id],
                self._searcher,
                self._generator,
                self._checker,
                backward_searcher=self._backward,
                proving_searcher=self._proving,
                prover=self.prover,
            )
        except Exception as exc:  # this problem's result; the run goes on
            record = SolveRecord(problem.id, "error", reason=f"{type(exc).__name__}: {exc}".splitlines()[0])
            self._reset_session()
        return to_attempt(problem, record, self.settings.budget, time.monotonic() - started)

    def _reset_session(self) -> None:
        super()._reset_session()
        self._checker = None


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


def _load_run_problems(benchmark_cfg: Any) -> tuple[list[Problem], LoadReport]:
    problems, skipped = load_problems(benchmark_cfg)
    return [as_problem(p) for p in problems], LoadReport([], list(skipped))


def _validate(container: dict[str, Any]) -> None:
    """The solver settings and the backward budget, before Lean or a model starts (bad keys: exit 2)."""
    solver = solver_settings(container.get("solver"))
    backward_search_settings(search_settings(container["search"]), solver)
    proving_search_settings(search_settings(container["search"]), solver)


#: ``prover solve``: FPS problems, :class:`FpsWorker`, the solver settings in ``run.json``.
SOLVE = RunKind(
    command="prover solve",
    worker=WORKER_FACTORY,
    load=_load_run_problems,
    validate=_validate,
    meta=lambda container: {"solver": container.get("solver")},
    label=lambda cfg: "solve",
)
