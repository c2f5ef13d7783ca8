"""The HTTP face of :class:`prover.serve.service.ProverService`: routes, limits, time limits, cancellation.

Each route validates its body (``prover.serve.schemas``), hands the blocking work to a worker thread (the
generator worker's queue, or a thread holding a pooled Lean session) and waits for whichever comes first: the
answer, the request's time limit (504) or the client going away. On the last two the work is told to stop
(queued generation is dropped, a session run stops at its next step) and its session returns to the pool when
the thread is done. Busy pools and full queues answer 429 with ``Retry-After`` at once.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse

from prover import __version__
from prover.serve.batching import Cancelled, QueueFull
from prover.serve.errors import ApiError, ServeError, busy, error_body, install_error_handlers
from prover.serve.gateway import Gateway
from prover.serve.jobs import TERMINAL, JobManager, TooManyJobs
from prover.serve.parsing import ParseWorker
from prover.serve.pool import PoolBusy
from prover.serve.schemas import (
    ERROR_RESPONSES,
    CheckRequest,
    CheckResponse,
    CopilotEncodeRequest,
    CopilotEncodeResponse,
    CopilotGenerateRequest,
    CopilotGenerateResponse,
    HealthResponse,
    JobCancelled,
    JobCreated,
    JobOut,
    PremisesRequest,
    PremisesResponse,
    ProveRequest,
    SolveRequest,
    SuggestRequest,
    SuggestResponse,
    VersionResponse,
)
from prover.serve.service import (
    BadInput,
    ProverService,
    fps_problem,
    fps_problem_from_statement,
    guard_only_check,
    theorem_from,
)

T = TypeVar("T")

#: How often an event stream looks at its job, and how long it stays silent before a keep-alive comment.
EVENT_POLL_S = 0.2
KEEPALIVE_S = 10.0
#: Time limit of the /encode call that loads the encoder.
ENCODER_LOAD_S = 180.0


class ClientGone(ServeError):
    """The client closed the connection before the answer was ready."""


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (the body was read already: the next message is the disconnect)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


class Runtime:
    """What the routes share: the service, the job manager, executors and in-flight counters."""

    def __init__(self, service: ProverService) -> None:
        self.service = service
        self.settings = service.settings
        self.jobs = JobManager(
            service.worker,
            service.prove_sessions,
            service.attempt,
            max_jobs=self.settings.max_queued_jobs,
            ttl_s=self.settings.job_ttl_s,
            state_dir=self.settings.state_dir,
        )
        self.parser = ParseWorker(
            self.settings.parse_timeout_s, self.settings.max_parse_queue, self.settings.retry_after_s
        )
        # session work never queues: at most pool_size sessions are lent at once
        self.lean_threads = ThreadPoolExecutor(
            max_workers=self.settings.pool_size, thread_name_prefix="prover-lean"
        )
        self.retrieval_threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prover-retrieval")
        self.retrieval_waiting = 0

    def close(self) -> None:
        self.parser.close()
        self.jobs.close()
        self.lean_threads.shutdown(wait=False, cancel_futures=True)
        self.retrieval_threads.shutdown(wait=False, cancel_futures=True)
        self.service.close()

    # --- waiting for work --------------------------------------------------------------------------
    def deadline(self) -> float:
        return time.monotonic() + self.settings.request_timeout_s

    async def settle(
        self,
        request: Request,
        work: asyncio.Future[T],
        deadline: float,
        cancel: threading.Event | None = None,
        drop: bool = False,
    ) -> T:
        """``work``'s result, unless the deadline passes (504) or the client leaves first.

        ``cancel`` tells a thread to stop at its next step; ``drop`` cancels work that has not started.
        """
        gone: asyncio.Future[None] = asyncio.ensure_future(_disconnected(request))
        waiting: set[asyncio.Future[Any]] = {work, gone}
        try:
            done, _ = await asyncio.wait(
                waiting,
                timeout=max(0.0, deadline - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            gone.cancel()
        if work in done:
            try:
                return work.result()
            except Cancelled as exc:  # a BaseException: never let it reach the framework
                raise ApiError(499, "cancelled", str(exc) or "the request was cancelled") from None
        # nobody will read the abandoned work's outcome: consume it so asyncio does not log it as lost
        work.add_done_callback(lambda f: f.cancelled() or f.exception())
        if cancel is not None:
            cancel.set()
        if drop:
            work.cancel()
        if gone in done:
            raise ClientGone()
        raise ApiError(504, "timeout", "no answer within the request's time limit (serve.request_timeout_s)")

    async def generate(self, request: Request, gen_request: Any, k: int, deadline: float) -> list[Any]:
        try:
            future = self.service.worker.submit(gen_request, k)
        except QueueFull:
            raise busy("generator slots", self.settings.retry_after_s) from None
        try:
            return await self.settle(request, asyncio.wrap_future(future), deadline, drop=True)
        except ValueError as exc:  # the generator's own input checks (GenerationInputError, bad k)
            raise BadInput(str(exc)) from None

    async def acquire(self, pool: Any) -> Any:
        """A session of ``pool`` for this request, or 429 at once (before any generator time is spent)."""
        try:  # off the event loop: the first use of a slot builds its session (starts a process)
            return await asyncio.get_running_loop().run_in_executor(None, pool.acquire, 0.0)
        except PoolBusy:
            raise busy("Lean sessions", self.settings.retry_after_s) from None

    async def holding(
        self,
        request: Request,
        pool: Any,
        session: Any,
        fn: Callable[[Any, threading.Event], T],
        deadline: float,
    ) -> T:
        """Run ``fn(session, cancel)`` on a Lean thread; the session goes back to ``pool`` when it is done.

        On a 504 or a departed client the session is abandoned at once (``SessionPool.abandon``: closed, its
        Lean process killed, its slot free for the next request) instead of staying lent until the thread
        notices the cancel; whichever of the two comes first hands the session back, exactly once.
        """
        cancel = threading.Event()
        claim = threading.Lock()
        handed = [False]

        def hand_back(broken: bool, abandon: bool = False) -> None:
            with claim:
                if handed[0]:
                    return
                handed[0] = True
            if abandon:
                pool.abandon(session)
            else:
                pool.release(session, broken)

        def run() -> T:
            broken = False
            try:
                return fn(session, cancel)
            except Cancelled:
                raise
            except BaseException:
                broken = True
                raise
            finally:
                hand_back(broken)

        try:
            work = asyncio.get_running_loop().run_in_executor(self.lean_threads, run)
        except RuntimeError:
            hand_back(False)
            raise
        try:
            return await self.settle(request, work, deadline, cancel)
        except (ApiError, ClientGone):
            if not work.done():
                hand_back(True, abandon=True)
            raise

    async def on_lean_thread(
        self,
        request: Request,
        pool: Any,
        fn: Callable[[Any, threading.Event], T],
        timeout_s: float | None = None,
    ) -> T:
        """Run ``fn(session, cancel)`` holding a session of ``pool`` (429 when none is free)."""
        deadline = time.monotonic() + (timeout_s or self.settings.request_timeout_s)
        session = await self.acquire(pool)
        return await self.holding(request, pool, session, fn, deadline)

    def check_statement(self, statement: str, field: str = "statement") -> None:
        """400 at once for a statement over ``serve.max_statement_chars`` (before any reading is spent on it)."""
        limit = self.settings.max_statement_chars
        if len(statement) > limit:
            raise BadInput(
                f"the {field} has {len(statement):,} characters, over the limit of {limit:,} "
                "(serve.max_statement_chars)"
            )

    async def theorem(self, statement: str, header: str | None) -> Any:
        """The request's theorem, read off the event loop when long (``prover.serve.parsing``)."""
        self.check_statement(statement)
        size = len(statement) + len(header or "")
        return await self.parser.run(theorem_from, statement, header, self.service.guard_options, size=size)

    async def on_retrieval_thread(
        self, request: Request, fn: Callable[[], T], timeout_s: float | None = None
    ) -> T:
        if self.retrieval_waiting >= self.settings.max_generate_queue:
            raise busy("retrieval slots", self.settings.retry_after_s)
        self.retrieval_waiting += 1
        try:
            work = asyncio.get_running_loop().run_in_executor(self.retrieval_threads, fn)
            deadline = time.monotonic() + (timeout_s or self.settings.request_timeout_s)
            return await self.settle(request, work, deadline, drop=True)
        finally:
            self.retrieval_waiting -= 1


def copilot_score(logprob: float) -> float:
    """LeanCopilot's score: a probability in [0, 1] (Aesop reads it as a success probability), never null.

    It is ``exp`` of the suggestion's TOTAL log-probability under the generator (the sum over its tokens, what
    ``Suggestion.logprob`` holds), as LeanCopilot's own runners send; ``-inf`` and NaN give 0.
    """
    if math.isnan(logprob):
        return 0.0
    return min(1.0, max(0.0, math.exp(min(logprob, 0.0))))


def _check_k(k: int, limit: int) -> None:
    if k > limit:
        raise BadInput(f"k = {k} is over the server's limit of {limit} (serve.max_k)")


def create_app(service: ProverService, token: str | None = None) -> FastAPI:
    """The ASGI app over ``service``; closing the app (lifespan end) closes the service.

    ``token``: the per-start secret ``prover serve`` wrote to its token file; with it (or ``serve.api_key``)
    every path but ``serve.open_paths`` needs ``X-API-Key`` or ``Authorization: Bearer``.
    """
    rt = Runtime(service)
    settings = service.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        rt.close()

    app = FastAPI(
        title="prover serve",
        version=__version__,
        description="Tactic suggestions, proof search, premise retrieval and proof checking for Lean 4 "
        "editors, plus LeanCopilot's external-model protocol (/generate, /encode).",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.runtime = rt
    install_error_handlers(app)

    @app.exception_handler(BadInput)
    async def _bad_input(_request: Request, exc: BadInput) -> JSONResponse:
        return JSONResponse(error_body("bad_request", str(exc)), status_code=400)

    @app.exception_handler(ClientGone)
    async def _gone(_request: Request, _exc: ClientGone) -> JSONResponse:
        return JSONResponse(error_body("client_closed", "the client closed the connection"), status_code=499)

    # --- LeanCopilot -----------------------------------------------------------------------------
    @app.post("/generate", response_model=CopilotGenerateResponse, tags=["LeanCopilot"])
    async def generate(body: CopilotGenerateRequest, request: Request) -> dict[str, Any]:
        """LeanCopilot's external generator: tactics for ``input`` that start with ``prefix``, best first.

        Tactics the soundness guard refuses are left out (LeanCopilot would run them in the user's Lean).
        """
        prefix = body.prefix or ""
        k = settings.copilot_k
        gen_request = service.request_for(body.input, None, ())
        deadline = rt.deadline()
        asked = min(settings.max_k, 2 * k)
        while (
            True
        ):  # the guard and the prefix drop some: ask for more until k remain or the generator runs dry
            suggestions = await rt.generate(request, gen_request, asked, deadline)
            kept = [
                s for s in suggestions if s.tactic.startswith(prefix) and not service.guard_refusals(s.tactic)
            ]
            if len(kept) >= k or len(suggestions) < asked or asked >= settings.max_k:
                break
            asked = min(settings.max_k, 4 * asked)
        return {"outputs": [{"output": s.tactic, "score": copilot_score(s.logprob)} for s in kept[:k]]}

    @app.post("/encode", response_model=CopilotEncodeResponse, tags=["LeanCopilot"])
    async def encode(body: CopilotEncodeRequest, request: Request) -> dict[str, Any]:
        """LeanCopilot's external encoder: the retriever's embedding of ``input`` (unit length)."""
        if not body.input.strip():
            raise BadInput("the input is empty")
        if len(body.input) > service.max_state_chars:
            raise BadInput(f"the input has {len(body.input):,} characters, over {service.max_state_chars:,}")
        # the first call loads the encoder (seconds on a busy CPU): it gets a longer limit than the rest
        first = None if service.encoder_loaded else max(settings.request_timeout_s, ENCODER_LOAD_S)
        return {"outputs": await rt.on_retrieval_thread(request, lambda: service.encode(body.input), first)}

    # --- ours ----------------------------------------------------------------------------------------
    @app.head("/health", tags=["server"], response_class=Response)
    async def health_head() -> Response:
        """Liveness for probes that send HEAD (no body, no key needed)."""
        return Response(status_code=200)

    @app.get("/health", response_model=HealthResponse, tags=["server"])
    async def health() -> dict[str, Any]:
        """Liveness (no API key needed), with how busy the server is."""
        out: dict[str, Any] = {
            "status": "ok",
            "jobs": rt.jobs.active(),
            "generator_queue": service.worker.waiting,
        }
        if service.sessions is not None:
            out["sessions"] = {"size": service.sessions.size, "in_use": service.sessions.in_use}
        return out

    @app.get("/version", response_model=VersionResponse, tags=["server"])
    async def version() -> dict[str, str]:
        return service.version()

    @app.post("/suggest", response_model=SuggestResponse, response_model_exclude_none=True, tags=["editor"])
    async def suggest(body: SuggestRequest, request: Request) -> dict[str, Any]:
        """Tactics for the goal; with ``theorem`` and a backend, each is run and marked."""
        _check_k(body.k, settings.max_k)
        theorem = await rt.theorem(body.theorem.statement, body.theorem.header) if body.theorem else None
        gen_request = service.request_for(body.goal, theorem, body.path)
        if theorem is None or service.sessions is None:
            suggestions = await rt.generate(request, gen_request, body.k, rt.deadline())
            why = "no theorem context was given" if theorem is None else "no Lean backend is configured"
            return {"suggestions": [row.to_json() for row in service.unchecked(suggestions, why)]}
        deadline = rt.deadline()  # one limit for generating and running
        # the session first: a busy server refuses (429) before it spends generator time on the request
        session = await rt.acquire(service.sessions)
        try:
            suggestions = await rt.generate(request, gen_request, body.k, deadline)
        except BaseException:
            service.sessions.release(session)
            raise
        rows, goals, warning = await rt.holding(
            request,
            service.sessions,
            session,
            lambda session, cancel: service.run_suggestions(
                session, theorem, body.path, gen_request.goals, suggestions, cancel
            ),
            deadline,
        )
        out: dict[str, Any] = {
            "suggestions": [row.to_json() for row in rows],
            "simulation": service.judge_fields["simulation"],  # marks from a scripted world say so
        }
        if goals is not None:
            out["checked_goals"] = goals
        if warning:
            out["warning"] = warning
        return out

    @app.post("/check", response_model=CheckResponse, response_model_exclude_none=True, tags=["editor"])
    async def check(body: CheckRequest, request: Request) -> dict[str, Any]:
        """The soundness guard, then (with a backend) Lean: is ``proof`` a proof of exactly ``statement``?"""
        theorem = await rt.theorem(body.statement, body.header)
        if not body.proof.strip():
            raise BadInput("the proof is empty")
        if service.sessions is None:  # the guard may refuse; without Lean nothing is ever "accepted"
            return await rt.parser.run(
                guard_only_check, theorem, body.proof, service.guard_options, size=len(body.proof)
            )
        return await rt.on_lean_thread(
            request, service.sessions, lambda session, _cancel: service.verify(session, theorem, body.proof)
        )

    @app.post("/premises", response_model=PremisesResponse, tags=["editor"])
    async def premises(body: PremisesRequest, request: Request) -> dict[str, Any]:
        """Premises relevant to the goal, from the configured index (``retriever.index_path``)."""
        _check_k(body.k, settings.max_k)
        if not body.goal.strip():
            raise BadInput("the goal is empty")
        if service.retriever is None:
            raise ApiError(
                400, "no_retriever", "no premise index is configured; start with retriever.index_path=DIR"
            )
        return {
            "premises": await rt.on_retrieval_thread(request, lambda: service.premises(body.goal, body.k))
        }

    def _expansions(asked: int | None) -> int | None:
        """A request's expansions, capped; ``None`` for searchers without expansions (whole-proof sampling)."""
        default = service.default_max_expansions
        if default is None:
            return None
        return min(asked or default, settings.prove_max_expansions)

    @app.post("/prove", status_code=202, response_model=JobCreated, tags=["editor"])
    async def prove(body: ProveRequest) -> dict[str, str]:
        """Start a proof search; follow it with GET /prove/{id}[/events], stop it with DELETE."""
        if service.prove_sessions is None:
            raise ApiError(
                400, "no_backend", "proof search needs a Lean backend; this server runs without one"
            )
        theorem = await rt.theorem(body.statement, body.header)
        expansions = _expansions(body.max_expansions)
        limit = min(body.time_limit_s or settings.prove_time_limit_s, settings.prove_time_limit_s)
        try:
            job = rt.jobs.submit(theorem, expansions, limit)
        except TooManyJobs:
            raise busy("proof-search slots", settings.retry_after_s) from None
        return {"job_id": job.job_id}

    def _job(job_id: str) -> Any:
        job = rt.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no proof job {job_id[:40]!r} (unknown, or finished long ago)")
        return job

    @app.get("/prove/{job_id}", response_model=JobOut, response_model_exclude_none=True, tags=["editor"])
    async def job_state(job_id: str) -> dict[str, Any]:
        """A job's state; a job of an earlier run of this server (``serve.state_dir``) reports how it ended."""
        if rt.jobs.get(job_id) is None and job_id in rt.jobs.earlier:
            return rt.jobs.earlier[job_id]
        return {**_job(job_id).to_json(), **service.judge_fields}  # names a simulated "proved"

    @app.delete("/prove/{job_id}", response_model=JobCancelled, tags=["editor"])
    async def job_cancel(job_id: str) -> dict[str, Any]:
        if rt.jobs.get(job_id) is None and job_id in rt.jobs.earlier:
            return {"job_id": job_id, "status": rt.jobs.earlier[job_id]["status"]}
        _job(job_id)
        job = rt.jobs.cancel(job_id)
        assert job is not None
        if job.status in TERMINAL and job.status != "cancelled":
            return {"job_id": job_id, "status": job.status}
        return {"job_id": job_id, "status": "cancelled"}

    @app.get("/prove/{job_id}/events", tags=["editor"], response_class=StreamingResponse)
    async def job_events(job_id: str) -> StreamingResponse:
        """Server-sent events: ``progress`` on every change, then one ``done`` with the final state."""
        job = _job(job_id)

        async def stream() -> AsyncIterator[str]:
            seen = -1
            quiet_since = time.monotonic()
            while True:
                if job.version != seen:
                    seen = job.version
                    quiet_since = time.monotonic()
                    data = json.dumps({**job.to_json(), **service.judge_fields}, ensure_ascii=False)
                    if job.status in TERMINAL:
                        yield f"event: done\ndata: {data}\n\n"
                        return
                    yield f"event: progress\ndata: {data}\n\n"
                elif time.monotonic() - quiet_since > KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield ": keep-alive\n\n"
                await asyncio.sleep(EVENT_POLL_S)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post("/solve", response_model=dict[str, Any], tags=["editor"])
    async def solve(body: SolveRequest, request: Request) -> dict[str, Any]:
        """Formal problem solving (FPS): find the answer, prove it, check it (RPE); the solver's record.

        501 ``not_available`` without the FPS solver or without a Lean backend.
        """
        if not service.solver_available():
            why = (
                "without a Lean backend" if service.solver_settings is not None else "without the FPS solver"
            )
            raise ApiError(
                501, "not_available", f"formal problem solving is not available on this server ({why})"
            )
        if (body.problem is None) == (body.statement is None):
            raise BadInput("give either problem (FPS fields) or statement (a Lean statement of FPS shape)")
        if body.problem is not None:
            if body.header is not None or body.formal_answer is not None:
                raise BadInput("header and formal_answer go with statement; a problem carries its own")
            size = len(json.dumps(body.problem, ensure_ascii=False))
            problem = await rt.parser.run(fps_problem, body.problem, service.guard_options, size=size)
            ground_truth = True
        else:
            rt.check_statement(body.statement or "")
            size = len(body.statement or "") + len(body.header or "") + len(body.formal_answer or "")
            problem, ground_truth = await rt.parser.run(
                fps_problem_from_statement,
                body.statement or "",
                body.header,
                body.formal_answer,
                service.guard_options,
                size=size,
            )
        expansions = _expansions(body.max_expansions)
        limit = min(body.time_limit_s or settings.solve_time_limit_s, settings.solve_time_limit_s)
        return await rt.on_lean_thread(
            request,
            service.sessions,
            lambda session, cancel: service.solve(session, problem, expansions, limit, cancel, ground_truth),
            timeout_s=limit + settings.request_timeout_s,
        )

    app.add_middleware(Gateway, settings=settings, token=token)
    if settings.allowed_origins:  # outermost, so browser preflights of listed origins are answered
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization"],
        )
    return app
