"""``/prove`` jobs: a proof search per job on a worker thread, observable (progress) and cancellable.

Why jobs and not one long request: a search runs for minutes, longer than any HTTP client should hold a
request open, and the editor wants progress and a Cancel button. A job is one attempt through the front door
(``ProverService.attempt`` -> ``prover.theorem_prover.TheoremProver.attempt``) with a session from the
proof-search pool and the shared generator worker; the found proof is judged once there, and the job says
``proved`` only when the judge accepted it.

Progress and cancellation without touching the searcher: the search sees a generator and a session that
count what passes through them (expansions, tactic results) and raise :class:`Cancelled` at their next call
once the job is cancelled; the searcher turns that into an ended search, and the job reports ``cancelled``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.lean.types import TacticResult, TacticState, Theorem
from prover.serve.batching import Cancelled, GeneratorWorker
from prover.serve.errors import ServeError
from prover.serve.pool import PoolBusy, SessionPool
from prover.theorem_prover import Attempt, ProofStatus

log = logging.getLogger("prover.serve")

TERMINAL = ("proved", "failed", "error", "cancelled")


class TooManyJobs(ServeError):
    """``max_queued_jobs`` jobs are queued or running."""


@dataclass
class Job:
    job_id: str
    theorem: Theorem
    max_expansions: int | None
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
            "theorem": self.theorem.name,
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
        attempt: Callable[[Theorem, Any, TacticGenerator, int | None, float], Attempt],
        *,
        max_jobs: int,
        ttl_s: float,
        state_dir: str | Path | None = None,
    ) -> None:
        self.worker = worker
        self.sessions = sessions
        #: ``(theorem, session, generator, max_expansions, time_limit_s) -> Attempt``: the front door with the
        #: request's budget (``ProverService.attempt``)
        self.attempt = attempt
        self.max_jobs = max_jobs
        self.ttl_s = ttl_s
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        #: finished jobs of earlier runs (``state_dir/jobs.jsonl``): their last state, or an interrupted note
        self.earlier: dict[str, dict[str, Any]] = {}
        self._journal: Path | None = None
        if state_dir is not None:
            self._journal = Path(state_dir) / "jobs.jsonl"
            self.earlier = _read_journal(self._journal)
        workers = sessions.size if sessions is not None else 1
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prover-serve-job")

    def active(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status not in TERMINAL)

    def submit(self, theorem: Theorem, max_expansions: int | None, time_limit_s: float) -> Job:
        if self.sessions is None:
            raise RuntimeError("proof search needs a Lean backend")
        with self._lock:
            self._forget_old()
            if sum(1 for j in self._jobs.values() if j.status not in TERMINAL) >= self.max_jobs:
                raise TooManyJobs(f"{self.max_jobs} proof jobs are queued or running")
            job = Job(uuid.uuid4().hex[:16], theorem, max_expansions, time_limit_s)
            self._jobs[job.job_id] = job
        self._record(job)
        self._executor.submit(self._run, job)
        return job

    def _record(self, job: Job) -> None:
        """Append the job's state to the journal (submitted, then final): a restart knows what finished."""
        if self._journal is None:
            return
        line = json.dumps({**job.to_json(), "time": time.time()}, ensure_ascii=False)
        try:
            self._journal.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self._journal.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:  # a full disk must not fail the job itself
            log.warning("cannot append to %s: %s", self._journal, exc)

    def _finish(self, job: Job, status: str, message: str | None = None, proof: str | None = None) -> None:
        job.touch(status=status, message=message, proof=proof, finished=time.monotonic())
        self._record(job)

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
            self._finish(job, "cancelled", "cancelled before it started")
            log.info("proof job %s cancelled before it started", job.job_id)
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
            self._finish(job, "cancelled" if job.cancel.is_set() else "error", str(exc))
            return
        except Exception as exc:
            self._finish(job, "error", f"no Lean session: {type(exc).__name__}: {exc}")
            return
        if job.cancel.is_set():
            self.sessions.release(session)
            self._finish(job, "cancelled", "cancelled before it started")
            return
        job.touch(status="running", started=time.monotonic())
        broken = False
        try:
            self._search(job, session)
        except Cancelled:
            self._finish(job, "cancelled", "cancelled")
            log.info("proof job %s cancelled after %d expansions", job.job_id, job.expansions)
        except _AttemptFailed as exc:
            broken = True
            log.warning("proof job %s failed: %s", job.job_id, exc)
            self._finish(job, "error", str(exc)[:2000])
        except Exception as exc:
            broken = True
            log.warning("proof job %s failed: %s: %s", job.job_id, type(exc).__name__, exc)
            self._finish(job, "error", f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            self.sessions.release(session, broken)

    def _search(self, job: Job, session: Any) -> None:
        generator = QueuedGenerator(
            self.worker, job.cancel, lambda n: job.touch(expansions=job.expansions + n)
        )
        result = self.attempt(
            job.theorem, _JobSession(session, job), generator, job.max_expansions, job.time_limit_s
        )
        if job.cancel.is_set():
            raise Cancelled("cancelled")
        stats = result.stats
        job.touch(expansions=max(job.expansions, stats.expansions), nodes=max(job.nodes, stats.nodes))
        if result.status is ProofStatus.PROVED and result.proof is not None:
            self._finish(job, "proved", proof=result.proof)
            return
        if result.status is ProofStatus.UNVERIFIED:
            verdict = result.verdict
            why = "; ".join(verdict.reasons)[:1000] if verdict is not None else ""
            check = f"{result.judge}: {verdict.check}" if verdict is not None else result.judge
            self._finish(job, "failed", f"the search found a proof that the judge rejected ({check}): {why}")
            return
        if result.status is ProofStatus.ERROR:
            # the session may be the broken part: the pool replaces it (raised to _run)
            raise _AttemptFailed(result.error or "the search failed")
        reasons = {
            "failed": "every tactic tried failed",
            "budget_exhausted": (
                f"no proof within {job.max_expansions} expansions"
                if job.max_expansions is not None
                else "no proof within the search's budget"
            ),
            "timeout": f"no proof within {job.time_limit_s:g} s",
        }
        self._finish(job, "failed", reasons.get(result.status.value, result.status.value))


class _AttemptFailed(ServeError):
    """An attempt that ended in ``error``: the job's message, and its session is handed back as broken."""


def _read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """Each job's last journal line; a job that never reached a final state was cut off by the restart."""
    last: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return last
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash
        if isinstance(obj, dict) and isinstance(obj.get("job_id"), str):
            last[obj["job_id"]] = obj
    out = {}
    for job_id, obj in last.items():
        obj.pop("time", None)
        obj.setdefault("progress", {"expansions": 0, "nodes": 0, "elapsed_s": 0.0})
        if obj.get("status") not in TERMINAL:
            obj.update(status="error", message="the server stopped before this job finished")
        out[job_id] = obj
    return out
