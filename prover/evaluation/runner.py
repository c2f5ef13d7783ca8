"""``prover prove``: run a benchmark, one problem per job, verify every proof, append results, resume.

The driver picks the unfinished problems, hands them to an executor and appends each record as it
arrives; workers (``ProblemWorker``) each build their own session, generator and searcher from the
composed config, and attempts each problem through the front door (``prover.theorem_prover``): a proof counts
only after the configured judge accepted it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.evaluation.benchmarks import Problem
from prover.evaluation.errors import EvaluationError
from prover.evaluation.executors import WorkerSpec, exit_code_of
from prover.evaluation.results import AttemptRecord, ResultStore
from prover.evaluation.versions import run_versions
from prover.generation.base import TacticGenerator
from prover.lean.session import LeanSession
from prover.lean.types import TacticState
from prover.search.api import Searcher
from prover.search.settings import SearchSettings, search_settings
from prover.search.status import ProofStatus
from prover.theorem_prover import TheoremProver, one_line

log = logging.getLogger(__name__)
WORKER_FACTORY = "prover.evaluation.runner:ProblemWorker"


def model_name(generator_cfg: Mapping[str, Any]) -> str:
    """What to record as "the model": a checkpoint, a corpus, or the generator's name."""
    name = str(generator_cfg.get("name", "?"))
    detail = generator_cfg.get("model") or generator_cfg.get("corpus")
    return f"{name}:{detail}" if detail else name


#: The longest file name stem written under ``trees/`` (file systems allow 255 bytes per name).
_TREE_STEM_BYTES = 80


def tree_file_name(problem_id: str) -> str:
    """A file name for ``problem_id`` that is safe everywhere: sanitised, length-capped, and unique.

    Sanitising alone maps ``a/b`` and ``a_b`` to one name and cannot shorten a 300-character id, so a short
    hash of the exact id is always appended.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", problem_id).strip(".") or "problem"
    safe = safe.encode("ascii")[:_TREE_STEM_BYTES].decode("ascii")
    digest = hashlib.sha256(problem_id.encode("utf-8")).hexdigest()[:10]
    return f"{safe}-{digest}.json"


def save_tree(trees_dir: Path, problem_id: str, graph_json: Mapping[str, Any]) -> str:
    """Write one search graph as JSON under :func:`tree_file_name`; the record keeps the path (the mapping)."""
    trees_dir.mkdir(parents=True, exist_ok=True)
    path = trees_dir / tree_file_name(problem_id)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(graph_json, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return str(path)


class SetupError(EvaluationError):
    """The run cannot start at all (bad config or input: ``exit_code`` 2; broken environment: 1).

    Raised before any result is written, so a corrected retry starts from a clean run directory.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _setup_exit_code(exc: BaseException) -> int:
    """2 when the user's config or input is wrong (fix the command line), 1 when the machine is (fix the setup).

    An exception that declares its own ``exit_code`` keeps it (an unreachable model server, ``EndpointError``,
    is 1 although it is a ``ValueError``): the same rule as the pool's preflight (``executors.exit_code_of``)."""
    return exit_code_of(exc)


def _backend_alive(session: LeanSession) -> bool:
    """Did the backend start any process at all? (Sessions without processes count as started.)"""
    workers = getattr(session, "workers", None)
    if not workers:
        return True
    return any(getattr(getattr(w, "process", None), "alive", True) for w in workers)


@dataclass
class ProblemWorker:
    """Solves one problem per ``run`` call through the front door (:class:`~prover.theorem_prover.TheoremProver`,
    built once for the worker's lifetime): search, the judge's one verdict, one :class:`AttemptRecord`."""

    config: dict[str, Any]
    _prover: TheoremProver | None = field(default=None, init=False)
    #: seconds spent building the session, generator, searcher and judge (kept out of every problem's ``time_s``)
    load_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.settings: SearchSettings = search_settings(self.config["search"])

    @property
    def prover(self) -> TheoremProver:
        """The front door of this worker (built, not yet loaded, on first use)."""
        if self._prover is None:
            self._prover = TheoremProver.from_config(self.config)
        return self._prover

    # The components, for workers built on this one (``prover.fps.run.FpsWorker``).
    @property
    def _session(self) -> LeanSession:
        return self.prover.session

    @property
    def _generator(self) -> TacticGenerator:
        return self.prover.generator

    @property
    def _searcher(self) -> Searcher:
        return self.prover.searcher()

    def prepare(self) -> None:
        """Build whatever is missing (model load, session, searcher, judge); idempotent, timed into ``load_s``."""
        t0 = time.monotonic()
        self.prover.prepare()
        self.load_s += time.monotonic() - t0

    def preflight(self, job: dict[str, Any]) -> float:
        """Build everything and start one session on ``job``'s theorem; raise :class:`SetupError` if that fails.

        A Lean-side failure of that one theorem (an error value from ``start``) is that problem's result, not
        a setup error, unless the backend has no live process at all. Returns the load time in seconds.
        """
        try:
            self.prepare()
        except Exception as exc:
            raise SetupError(one_line(exc), _setup_exit_code(exc)) from exc
        problem = Problem.from_json(job)
        t0 = time.monotonic()
        try:
            root = self._session.start(problem.theorem)
        except Exception as exc:
            raise SetupError(
                f"the Lean backend failed on the first problem ({problem.id}): {one_line(exc)}", 1
            ) from exc
        if not isinstance(root, TacticState) and not _backend_alive(self._session):
            raise SetupError(f"the Lean backend did not start: {one_line(root)}", 1)
        self.load_s += time.monotonic() - t0
        return self.load_s

    def versions(self) -> dict[str, Any]:
        """What ran, for ``run.json`` and every record: backend, Lean, Mathlib, the judge and the sandbox."""
        session = self._prover._session if self._prover is not None else None
        return run_versions(self.config["backend"], session, judge=self.prover.judge_name)

    def run(self, job: dict[str, Any]) -> AttemptRecord:
        """Solve one problem; whatever happens, one record (a failure of this problem is its ``error``)."""
        problem = Problem.from_json(job)
        try:
            self.prepare()  # a no-op once built: the model load never counts as the first problem's time
        except Exception as exc:  # this problem's result; the run goes on (one line, traceback at -vv)
            log.error("problem %s failed: %s", problem.id, one_line(exc))
            log.debug("problem %s failed", problem.id, exc_info=True)
            return AttemptRecord.of(
                problem, status=ProofStatus.ERROR, error=one_line(exc), budget=self.settings.budget
            )
        # "find the answer" problems: the proof defines the header's holes, and the judge checks them as such
        attempt = self.prover.attempt(problem.theorem, definition_names=problem.definition_names)
        tree = None
        if self.config.get("trees_dir") and attempt.graph is not None:
            graph_json = attempt.graph.to_json(judge=self.prover.judge_name)  # names a simulation
            tree = save_tree(Path(self.config["trees_dir"]), problem.id, graph_json)
        return AttemptRecord.of(
            problem,
            status=attempt.status,
            proof=attempt.proof,
            budget=attempt.budget,
            stats=attempt.stats.to_json(),
            attempts=attempt.attempts,
            error=attempt.error,
            verification=attempt.verdict,
            judge=attempt.judge or None,
            samples=attempt.samples,
            prompt_tokens=attempt.stats.prompt_tokens,
            completion_tokens=attempt.stats.completion_tokens,
            tree=tree,
            mode=attempt.mode,
            time_s=attempt.time_s,
        )

    def _reset_session(self) -> None:
        if self._prover is not None:
            self._prover.reset_session()

    def close(self) -> None:
        """Close the generator, the session and the judge (idempotent)."""
        if self._prover is not None:
            self._prover.close()


@dataclass
class ExecutionSummary:
    """What one invocation of :func:`run_problems` did (a resumed run counts only its own problems)."""

    run_dir: Path
    attempted: int
    solved: int
    skipped_finished: int
    total: int


def run_problems(
    problems: list[Problem],
    store: ResultStore,
    spec: WorkerSpec,
    executor: Any,
    run_fields: Mapping[str, Any],
    on_record: Callable[[AttemptRecord], None] | None = None,
    worker: ProblemWorker | None = None,
) -> ExecutionSummary:
    """Run the unfinished ``problems`` and append one record each; returns the counts of this invocation.

    ``worker`` (the preflight's, already loaded) is used by an inline executor, so the model loads once; other
    executors build their own workers and this one is closed first to free its memory.
    """
    todo = [p for p in problems if p.id not in store.finished]
    budget = search_settings(spec.config["search"]).budget
    attempted = solved = 0
    if not todo:  # an executor would still build a worker, spawn a pool or start actors for no job
        if worker is not None:
            worker.close()
        return ExecutionSummary(store.run_dir, 0, 0, len(problems), len(problems))
    if worker is not None and not getattr(executor, "accepts_worker", False):
        worker.close()
        worker = None
    jobs = (p.to_json() for p in todo)
    outcomes = executor.run(spec, jobs, worker=worker) if worker is not None else executor.run(spec, jobs)
    for outcome in outcomes:
        record = outcome.result
        if record is None:  # the worker could not run the job at all (its process died, Ray failed)
            problem = Problem.from_json(outcome.job)
            record = AttemptRecord.of(problem, status=ProofStatus.ERROR, error=outcome.error, budget=budget)
        elif not isinstance(record, AttemptRecord):
            raise TypeError(f"a problem worker returned {type(record).__name__}, not an AttemptRecord")
        record = AttemptRecord.model_validate(
            {**record.model_dump(), **run_fields, "finished_at": time.time()}
        )
        store.append(record)
        attempted += 1
        solved += record.proved
        if on_record:
            on_record(record)
    return ExecutionSummary(store.run_dir, attempted, solved, len(problems) - len(todo), len(problems))
