"""``prover prove``: run a benchmark, one problem per job, verify every proof, append results, resume.

The driver picks the unfinished problems, hands them to an executor and appends each record as it
arrives; workers (``ProblemWorker``) each build their own session, generator and searcher from the
composed config. A proof counts only after ``session.verify`` accepted it (the soundness guard).
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
from prover.evaluation.executors import WorkerSpec
from prover.evaluation.results import AttemptRecord, ResultStore
from prover.lean.types import TacticState
from prover.search.api import Searcher, SearchResult
from prover.search.settings import SearchSettings, search_settings
from prover.search.status import ProofStatus

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
    """2 when the user's config or input is wrong (fix the command line), 1 when the machine is (fix the setup)."""
    if isinstance(exc, ValueError | TypeError | KeyError | FileNotFoundError | IsADirectoryError):
        return 2
    return 1


def _backend_alive(session: Any) -> bool:
    """Did the backend start any process at all? (Sessions without processes count as started.)"""
    workers = getattr(session, "workers", None)
    if not workers:
        return True
    return any(getattr(getattr(w, "process", None), "alive", True) for w in workers)


@dataclass
class ProblemWorker:
    """Solves one problem per ``run`` call; owns a Lean session, a generator and a searcher for its lifetime.

    Every search mode goes the same way: ``searcher.search`` -> :class:`SearchResult` -> the soundness
    guard's verdict on the proof -> one :class:`AttemptRecord`.
    """

    config: dict[str, Any]
    _session: Any = field(default=None, init=False)
    _generator: Any = field(default=None, init=False)
    _searcher: Searcher | None = field(default=None, init=False)
    #: seconds spent building the session, generator and searcher (kept out of every problem's ``time_s``)
    load_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.settings: SearchSettings = search_settings(self.config["search"])

    def prepare(self) -> None:
        """Build whatever is missing (model load, session, searcher); idempotent, timed into ``load_s``."""
        t0 = time.monotonic()
        if self._generator is None:
            from prover.generation.factory import make_generator

            self._generator = make_generator(
                self.config["generator"], retriever_cfg=self.config.get("retriever")
            )
        if self._searcher is None:
            from prover.search.factory import make_searcher

            self._searcher = make_searcher(self.settings)
        if self._session is None:
            from prover.lean.factory import make_session

            self._session = make_session(self.config["backend"])
        self.load_s += time.monotonic() - t0

    def preflight(self, job: dict[str, Any]) -> float:
        """Build everything and start one session on ``job``'s theorem; raise :class:`SetupError` if that fails.

        A Lean-side failure of that one theorem (an error value from ``start``) is that problem's result, not
        a setup error, unless the backend has no live process at all. Returns the load time in seconds.
        """
        try:
            self.prepare()
        except Exception as exc:
            raise SetupError(_one_line(exc), _setup_exit_code(exc)) from exc
        problem = Problem.from_json(job)
        t0 = time.monotonic()
        try:
            root = self._session.start(problem.theorem)
        except Exception as exc:
            raise SetupError(
                f"the Lean backend failed on the first problem ({problem.id}): {_one_line(exc)}", 1
            ) from exc
        if not isinstance(root, TacticState) and not _backend_alive(self._session):
            raise SetupError(f"the Lean backend did not start: {_one_line(root)}", 1)
        self.load_s += time.monotonic() - t0
        return self.load_s

    def run(self, job: dict[str, Any]) -> AttemptRecord:
        """Solve one problem; whatever happens, one record (a failure of this problem is its ``error``)."""
        problem = Problem.from_json(job)
        started = time.monotonic()
        try:
            self.prepare()  # a no-op once built: the model load never counts as the first problem's time
            assert self._searcher is not None
            started = time.monotonic()
            result = self._searcher.search(self._session, self._generator, problem.theorem)
            outcome = self._outcome(problem, result)
        except Exception as exc:  # this problem's result; the run goes on (one line, traceback at -vv)
            log.error("problem %s failed: %s", problem.id, _one_line(exc))
            log.debug("problem %s failed", problem.id, exc_info=True)
            self._reset_session()
            outcome = {"status": ProofStatus.ERROR, "error": _one_line(exc), "budget": self.settings.budget}
        return AttemptRecord(
            problem=problem.id,
            theorem=problem.theorem.name,
            header=problem.theorem.header,
            statement=problem.theorem.statement,
            split=problem.split,
            category=problem.category,
            mode=self.settings.mode,
            time_s=time.monotonic() - started,
            **outcome,
        )

    def _outcome(self, problem: Problem, result: SearchResult) -> dict[str, Any]:
        """The record's fields from a search result; a found proof counts only once the guard accepted it."""
        status, verdict = result.status, result.verdict
        if result.proved and result.proof is None:
            status = ProofStatus.FAILED
        elif result.proved:
            if verdict is None or not verdict.accepted:
                verdict = self._session.verify(problem.theorem, result.proof)
            if not verdict.accepted:
                status = ProofStatus.UNVERIFIED
        tree = None
        if self.config.get("trees_dir") and result.graph is not None:
            tree = save_tree(Path(self.config["trees_dir"]), problem.id, result.graph.to_json())
        return {
            "status": status,
            "proof": result.proof,
            "budget": result.budget,
            "stats": result.stats.to_json(),
            "attempts": result.attempts,
            "error": result.error,
            "verification": verdict,
            "samples": result.samples,
            "tree": tree,
        }

    def _reset_session(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            except Exception:  # a broken session may fail to close; it is replaced anyway
                log.debug("closing a failed session raised", exc_info=True)
        self._session = None

    def close(self) -> None:
        """Close the generator and the session (idempotent)."""
        objs, self._generator, self._session = (self._generator, self._session), None, None
        for obj in objs:
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    log.debug("close failed", exc_info=True)


def _one_line(value: object) -> str:
    """An exception or error value as one line: ``Type: first line of the message``."""
    if isinstance(value, BaseException):
        text = str(value).strip().splitlines()[0] if str(value).strip() else ""
        return f"{type(value).__name__}: {text}" if text else type(value).__name__
    detail = getattr(value, "reason", None) or " ".join(getattr(value, "messages", ()) or ())
    text = str(detail or value).strip()
    return (text.splitlines() or [repr(value)])[0]


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
    if worker is not None and not getattr(executor, "accepts_worker", False):
        worker.close()
        worker = None
    jobs = (p.to_json() for p in todo)
    outcomes = executor.run(spec, jobs, worker=worker) if worker is not None else executor.run(spec, jobs)
    for outcome in outcomes:
        record = outcome.result
        if record is None:  # the worker could not run the job at all (its process died, Ray failed)
            problem = Problem.from_json(outcome.job)
            record = AttemptRecord(
                problem=problem.id,
                theorem=problem.theorem.name,
                header=problem.theorem.header,
                statement=problem.theorem.statement,
                split=problem.split,
                category=problem.category,
                status=ProofStatus.ERROR,
                error=outcome.error,
                budget=budget,
                time_s=0.0,
            )
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
