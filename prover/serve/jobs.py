"""``/prove`` jobs: a proof search per job on a worker thread, observable (progress) and cancellable.

Why jobs and not one long request: a search runs for minutes, longer than any HTTP client should hold a
request open, and the editor wants progress and a Cancel button. A job runs the configured searcher
(``prover.search.factory.make_searcher``) with a session from the proof-search pool and the shared generator
worker; the found proof is verified (``LeanSession.verify``: guard + Lean) before the job says ``proved``.

Progress and cancellation without touching the searcher: the search sees a generator and a session that
count what passes through them (expansions, tactic results) and raise :class:`Cancelled` at their next call
once the job is cancelled; the searcher turns that into an ended search, and the job reports ``cancelled``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.lean.types import TacticResult, TacticState, Theorem
from prover.serve.batching import Cancelled, GeneratorWorker
from prover.serve.pool import PoolBusy, SessionPool

log = logging.getLogger("prover.serve")

TERMINAL = ("proved", "failed", "error", "cancelled")


class TooManyJobs(Exception):
    """``max_queued_jobs`` jobs are queued or running."""


@dataclass
class Job:
    job_id: str
    theorem: Theorem
    max_expansions: int
    time_limit_s: float
    status: str = "queued"
    proof: str | None = None
    message: str | None = None
    expansions: int = 0
    nodes: int = 0
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    #: bumped on every change, so event streams send only news
    version: int = 0

    def touch(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.version += 1

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "progress": {
                "expansions": self.expansions,
                "nodes": self.nodes,
                "elapsed_s": round(self.elapsed_s, 3),
            },
        }
        if self.proof is not None:
            out["proof"] = self.proof
        if self.message is not None:
            out["message"] = self.message
        return out


class QueuedGenerator(TacticGenerator):
    """The shared generator worker as a search sees it: stops at its next call once ``cancel`` is set and
    reports each call's number of requests (expansions) to ``on_expand``."""

    def __init__(
        self, worker: GeneratorWorker, cancel: threading.Event, on_expand: Callable[[int], None] | None = None
    ) -> None:
        self.worker = worker
        self.cancel = cancel
        self.on_expand = on_expand

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        if self.cancel.is_set():
            raise Cancelled("cancelled")
        out = self.worker.generate(requests, k, cancelled=self.cancel)
        if self.on_expand is not None:
            self.on_expand(len(requests))
        return out


class _JobSession:
    """A session proxy: the real session (and its guard) runs every tactic; this counts and stops."""

    def __init__(self, session: Any, job: Job) -> None:
        self._session = session
        self._job = job

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def _check(self) -> None:
        if self._job.cancel.is_set():
            raise Cancelled("the proof job was cancelled")

    def start(self, theorem: Theorem) -> Any:
        self._check()
        return self._session.start(theorem)

    def run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        self._check()
        result = self._session.run_tactic(state, tactic)
        self._job.touch(nodes=self._job.nodes + 1)
        return result

    def run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        self._check()
        results = self._session.run_tactics(steps)
        self._job.touch(nodes=self._job.nodes + len(results))
        return results


class JobManager:
    """Creates, runs, reports and cancels jobs; forgets finished ones after ``ttl_s``."""

    def __init__(
        self,
        worker: GeneratorWorker,
        sessions: SessionPool | None,
        search_cfg: dict[str, Any],
        *,
        max_jobs: int,
        ttl_s: float,
    ) -> None:
        self.worker = worker
        self.sessions = sessions
        self.search_cfg = dict(search_cfg)
        self.max_jobs = max_jobs
        self.ttl_s = ttl_s
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        workers = sessions.size if sessions is not None else 1
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prover-serve-job")

    def active(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status not in TERMINAL)

    def submit(self, theorem: Theorem, max_expansions: int, time_limit_s: float) -> Job:
        if self.sessions is None:
            raise RuntimeError("proof search needs a Lean backend")
        with self._lock:
            self._forget_old()
            if sum(1 for j in self._jobs.values() if j.status not in TERMINAL) >= self.max_jobs:
                raise TooManyJobs(f"{self.max_jobs} proof jobs are queued or running")
            job = Job(uuid.uuid4().hex[:16], theorem, max_expansions, time_limit_s)
            self._jobs[job.job_id] = job
        self._executor.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._forget_old()
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is None:
            return None
        job.cancel.set()
        if job.status == "queued":
            job.touch(status="cancelled", message="cancelled before it started", finished=time.monotonic())
        return job

    def close(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id in [
            j.job_id for j in self._jobs.values() if j.finished is not None and now - j.finished > self.ttl_s
        ]:
            del self._jobs[job_id]

    # --- the worker thread --------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        if job.cancel.is_set():
            return
        assert self.sessions is not None
        try:
            session = self.sessions.acquire(wait_s=job.time_limit_s, cancelled=job.cancel)
        except PoolBusy as exc:
            status = "cancelled" if job.cancel.is_set() else "error"
            job.touch(status=status, message=str(exc), finished=time.monotonic())
            return
        except Exception as exc:
            job.touch(
                status="error",
                message=f"no Lean session: {type(exc).__name__}: {exc}",
                finished=time.monotonic(),
            )
            return
        if job.cancel.is_set():
            self.sessions.release(session)
            job.touch(status="cancelled", message="cancelled before it started", finished=time.monotonic())
            return
        job.touch(status="running", started=time.monotonic())
        broken = False
        try:
            self._search(job, session)
        except Cancelled:
            job.touch(status="cancelled", message="cancelled", finished=time.monotonic())
        except Exception as exc:
            broken = True
            log.warning("proof job %s failed: %s: %s", job.job_id, type(exc).__name__, exc)
            job.touch(
                status="error", message=f"{type(exc).__name__}: {exc}"[:2000], finished=time.monotonic()
            )
        finally:
            self.sessions.release(session, broken)

    def _search(self, job: Job, session: Any) -> None:
        from prover.search.factory import make_searcher

        cfg = {**self.search_cfg, "max_expansions": job.max_expansions, "time_limit_s": job.time_limit_s}
        searcher = make_searcher(cfg)
        generator = QueuedGenerator(
            self.worker, job.cancel, lambda n: job.touch(expansions=job.expansions + n)
        )
        result = searcher.search(_JobSession(session, job), generator, job.theorem)  # type: ignore[arg-type]
        if job.cancel.is_set():
            raise Cancelled("cancelled")
        stats = result.stats
        job.touch(expansions=max(job.expansions, stats.expansions), nodes=max(job.nodes, stats.nodes))
        if result.status == "proved" and result.proof is not None:
            verdict = session.verify(job.theorem, result.proof)
            if verdict.accepted:
                job.touch(status="proved", proof=result.proof, finished=time.monotonic())
            else:
                why = "; ".join(verdict.reasons)[:1000]
                job.touch(
                    status="failed",
                    message=f"the search found a proof that verification rejected ({verdict.check}): {why}",
                    finished=time.monotonic(),
                )
            return
        if result.status == "error":
            job.touch(status="error", message=result.error or "the search failed", finished=time.monotonic())
            return
        reasons = {
            "failed": "every tactic tried failed",
            "budget_exhausted": f"no proof within {job.max_expansions} expansions",
            "timeout": f"no proof within {job.time_limit_s:g} s",
        }
        job.touch(
            status="failed", message=reasons.get(result.status, result.status), finished=time.monotonic()
        )
