"""``prover prove``: run a benchmark, one problem per job, verify every proof, append results, resume.

The driver picks the unfinished problems, hands them to an executor and appends each record as it
arrives; workers (``ProblemWorker``) each build their own session, generator and searcher from the
composed config. A proof counts only after ``session.verify`` accepted it (the soundness guard).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import PositiveFloat, PositiveInt

from prover.config import as_plain_dict
from prover.errors import ConfigError, ProverError
from prover.evaluation.benchmarks import Problem
from prover.evaluation.executors import WorkerSpec
from prover.evaluation.results import AttemptRecord, ResultStore
from prover.search.api import SearchSettings
from prover.settings import Settings, load_settings

log = logging.getLogger(__name__)
WORKER_FACTORY = "prover.evaluation.runner:ProblemWorker"


def model_name(generator_cfg: Mapping[str, Any]) -> str:
    """What to record as "the model": a checkpoint, a corpus, or the generator's name."""
    name = str(generator_cfg.get("name", "?"))
    detail = generator_cfg.get("model") or generator_cfg.get("corpus")
    return f"{name}:{detail}" if detail else name


_FENCE = re.compile(r"```(?:lean4?|)\s*\n(.*?)```", re.DOTALL)
_AFTER_BY = re.compile(r":=\s*by\b(.*)$", re.DOTALL)


def extract_whole_proof(text: str, theorem_statement: str) -> str:
    """The tactic script of a sampled whole proof: code fence and restated theorem (up to ``:= by``) removed."""
    fenced = _FENCE.findall(text)
    body = fenced[-1] if fenced else text
    if theorem_statement.strip() and theorem_statement.strip() in body:
        body = body.split(theorem_statement.strip(), 1)[1]
        m = _AFTER_BY.search(body)
        body = m.group(1) if m else body
    else:
        stripped = body.lstrip()
        if stripped.startswith("by\n") or stripped.startswith("by "):
            body = stripped[2:]
    lines = body.strip("\n").splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines).strip("\n")


class WholeProofSettings(Settings):
    """``configs/search/whole_proof.yaml``: N sampled whole proofs per attempt, each verified."""

    name: str = "whole_proof"
    num_samples: PositiveInt = 32
    attempts: PositiveInt = 1
    num_sampled_tactics: PositiveInt = 1
    max_expansions: PositiveInt = 1
    time_limit_s: PositiveFloat = 600.0

    @property
    def budget(self) -> str:
        return f"{self.attempts}×{self.num_samples}×1"


def search_settings(search_cfg: Any) -> SearchSettings | WholeProofSettings:
    """The validated ``search`` group: the one source of the budget string and of every search limit.

    Unknown keys are errors (a typo such as ``search.max_expantions`` must not be silently dropped).
    """
    data = as_plain_dict(search_cfg, "search config")
    if data.get("name") == "whole_proof":
        return load_settings(WholeProofSettings, data, "search")
    if hasattr(SearchSettings, "model_fields"):  # a pydantic settings model validates keys itself
        known = set(SearchSettings.model_fields)
    else:
        known = {f.name for f in dataclasses.fields(SearchSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key search.{unknown[0]} (known keys: {', '.join(sorted(known))})")
    if hasattr(SearchSettings, "from_config"):
        return SearchSettings.from_config(data)
    return load_settings(SearchSettings, data, "search")


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


class SetupError(ProverError):
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
    """Solves one problem per ``run`` call; owns a Lean session, a generator and a searcher for its lifetime."""

    config: dict[str, Any]
    _session: Any = field(default=None, init=False)
    _generator: Any = field(default=None, init=False)
    _searcher: Any = field(default=None, init=False)
    #: seconds spent building the session, generator and searcher (kept out of every problem's ``time_s``)
    load_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.settings = search_settings(self.config["search"])

    @property
    def mode(self) -> str:
        return "whole_proof" if isinstance(self.settings, WholeProofSettings) else "search"

    def prepare(self) -> None:
        """Build whatever is missing (model load, session, searcher); idempotent, timed into ``load_s``."""
        t0 = time.monotonic()
        if self._generator is None:
            from prover.generation.factory import make_generator

            self._generator = make_generator(
                self.config["generator"], retriever_cfg=self.config.get("retriever")
            )
        if self._searcher is None and self.mode == "search":
            from prover.search.api import make_searcher

            self._searcher = make_searcher(self.config["search"])
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
        from prover.lean.types import TacticState

        if not isinstance(root, TacticState) and not _backend_alive(self._session):
            raise SetupError(f"the Lean backend did not start: {_one_line(root)}", 1)
        self.load_s += time.monotonic() - t0
        return self.load_s

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        problem = Problem.from_json(job)
        started = time.monotonic()
        try:
            self.prepare()  # a no-op once built: the model load never counts as the first problem's time
            started = time.monotonic()
            fields = self._whole_proof(problem) if self.mode == "whole_proof" else self._search(problem)
        except Exception as exc:  # this problem's result; the run goes on (one line, traceback at -vv)
            log.error("problem %s failed: %s", problem.id, _one_line(exc))
            log.debug("problem %s failed", problem.id, exc_info=True)
            self._reset_session()
            fields = {"status": "error", "error": _one_line(exc), "budget": self.settings.budget}
        return {
            "problem": problem.id,
            "theorem": problem.theorem.name,
            "split": problem.split,
            "category": problem.category,
            "mode": self.mode,
            "time_s": time.monotonic() - started,
            "header": problem.theorem.header,
            "statement": problem.theorem.statement,
            **fields,
        }

    def _reset_session(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            except Exception:  # a broken session may fail to close; it is replaced anyway
                log.debug("closing a failed session raised", exc_info=True)
        self._session = None

    def _verify(self, problem: Problem, proof: str) -> dict[str, Any]:
        verdict = self._session.verify(problem.theorem, proof)
        return verdict.to_json()

    def _search(self, problem: Problem) -> dict[str, Any]:
        result = self._searcher.search(self._session, self._generator, problem.theorem)
        fields: dict[str, Any] = {
            "status": result.status,
            "proof": result.proof,
            "budget": self.settings.budget,
            "stats": result.stats.to_json(),
            "attempts": result.attempts,
        }
        if result.error:
            fields["error"] = result.error
        if self.config.get("trees_dir") and result.graph is not None:
            fields["tree"] = save_tree(Path(self.config["trees_dir"]), problem.id, result.graph.to_json())
        if result.proved and result.proof is not None:
            verification = self._verify(problem, result.proof)
            fields["verification"] = verification
            if not verification["accepted"]:
                fields["status"] = "unverified"
        elif result.proved:
            fields["status"] = "failed"
        return fields

    def _whole_proof(self, problem: Problem) -> dict[str, Any]:
        """Sample ``num_samples`` whole proofs (state = the statement), verify each, keep (n, c) for pass@k."""
        s = self.settings
        assert isinstance(s, WholeProofSettings)
        requested = s.num_samples
        deadline = time.monotonic() + s.time_limit_s
        state = f"{problem.theorem.statement} := by"
        from prover.generation.base import GenerationRequest

        suggestions = self._generator.generate([GenerationRequest(goals=(state,))], requested)[0]
        verdicts: dict[str, dict[str, Any]] = {}
        correct: list[str] = []
        checked = 0
        for suggestion in suggestions:
            if time.monotonic() > deadline:
                break
            proof = extract_whole_proof(suggestion.tactic, problem.theorem.statement)
            key = " ".join(proof.split())
            if key not in verdicts:
                verdicts[key] = (
                    self._verify(problem, proof)
                    if proof.strip()
                    else {"accepted": False, "reasons": ["empty proof"]}
                )
            checked += 1
            if verdicts[key]["accepted"]:
                correct.append(proof)
        status = "proved" if correct else ("timeout" if checked < len(suggestions) else "failed")
        reasons = sorted({r for v in verdicts.values() if not v["accepted"] for r in v["reasons"]})
        return {
            "status": status,
            "proof": correct[0] if correct else None,
            "budget": s.budget,
            "samples": {
                "requested": requested,
                "n": checked,
                "c": len(correct),
                "distinct": len(verdicts),
                "rejection_reasons": reasons[:20],
            },
            "stats": {"samples": checked},
            "verification": {"accepted": bool(correct), "reasons": [] if correct else reasons[:5]},
        }

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
class RunSummary:
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
) -> RunSummary:
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
        data = outcome.result
        if data is None:
            job = outcome.job
            data = {
                "problem": job["id"],
                "theorem": job["name"],
                "split": job.get("split"),
                "category": job.get("category", "other"),
                "status": "error",
                "error": outcome.error,
                "budget": budget,
                "time_s": 0.0,
            }
        record = AttemptRecord.model_validate({**run_fields, **data, "finished_at": time.time()})
        store.append(record)
        attempted += 1
        solved += record.proved
        if on_record:
            on_record(record)
    return RunSummary(store.run_dir, attempted, solved, len(problems) - len(todo), len(problems))
