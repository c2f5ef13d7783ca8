"""Request and response bodies of the HTTP API (README "Editor server"), as pydantic models.

They are the OpenAPI schema the framework publishes at ``/openapi.json`` and the first check on every request:
our own endpoints refuse unknown fields (a typo such as ``max_expansion`` must not be silently ignored), the
LeanCopilot endpoints ignore them (their client may grow fields we do not know). Every request model is strict:
``"k": true`` is refused, not read as 1. Every error answer is :class:`ErrorOut` (status 400 for any bad
request, JSON shape or content alike), and the schema says so for every route (``ERROR_RESPONSES``); a test
validates real answers against the served schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SuggestionStatus = Literal["closes_goal", "valid", "error", "unchecked", "refused"]
JobStatus = Literal["queued", "running", "proved", "failed", "error", "cancelled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ErrorDetail(BaseModel):
    code: str = Field(description="snake_case, e.g. bad_request, unauthorized, busy, timeout")
    message: str = Field(description="one sentence for a person")


class ErrorOut(BaseModel):
    error: ErrorDetail


#: The error answers of every route (FastAPI's default 422 ``{"detail": ...}`` is never sent: bad requests are 400).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorOut,
        "description": "bad request (400), key or token (401), Host/Origin (403), "
        "unknown (404), method (405), slow body (408), too large (413), not JSON (415), busy (429, "
        "Retry-After), client gone (499)",
    },
    "5XX": {
        "model": ErrorOut,
        "description": "failure (500), not available (501), restarting (503), time limit (504)",
    },
}


# --- LeanCopilot -------------------------------------------------------------------------------------
class CopilotGenerateRequest(Lenient):
    name: str = Field("", description="the model name LeanCopilot registered (logged, any name is served)")
    input: str = Field(description="the goal state as Lean prints it")
    prefix: str | None = Field("", description="keep only tactics starting with this text")


class CopilotGeneration(BaseModel):
    output: str
    score: float = Field(ge=0.0, le=1.0, description="exp of the total log-probability of the output")


class CopilotGenerateResponse(BaseModel):
    outputs: list[CopilotGeneration]


class CopilotEncodeRequest(Lenient):
    name: str = ""
    input: str


class CopilotEncodeResponse(BaseModel):
    outputs: list[float]


# --- ours --------------------------------------------------------------------------------------------
class TheoremContext(Strict):
    statement: str = Field(
        description="the declaration without its proof, e.g. theorem foo (n : ℕ) : n + 0 = n"
    )
    header: str | None = Field(
        None, description="imports, open and set_option lines (default: import Mathlib)"
    )


class SuggestRequest(Strict):
    goal: str = Field(description="the goals under the cursor as Lean prints them (blank-line separated)")
    k: int = Field(8, ge=1, description="number of suggestions")
    theorem: TheoremContext | None = Field(None, description="with it (and a backend), suggestions are run")
    path: list[str] = Field(default_factory=list, description="tactics from the theorem's start to the goal")


class SuggestionOut(BaseModel):
    tactic: str
    logprob: float
    status: SuggestionStatus
    message: str | None = None
    goals_after: list[str] | None = None


class SuggestResponse(BaseModel):
    suggestions: list[SuggestionOut]
    checked_goals: list[str] | None = Field(None, description="the state the suggestions were run on")
    warning: str | None = None
    simulation: bool | None = Field(
        None,
        description="with marks: true when a scripted world (no Lean) ran the suggestions; marks are hints "
        "of the search session, never a judge's verdict",
    )


class ProveRequest(Strict):
    statement: str
    header: str | None = None
    max_expansions: int | None = Field(None, ge=1)
    time_limit_s: float | None = Field(None, gt=0)


class JobCreated(BaseModel):
    job_id: str


class Progress(BaseModel):
    expansions: int = 0
    nodes: int = 0
    elapsed_s: float = 0.0


class JobOut(BaseModel):
    job_id: str
    theorem: str | None = None
    status: JobStatus
    proof: str | None = None
    message: str | None = None
    progress: Progress
    judge: str | None = Field(
        None, description="the judge that decides 'proved': repl, comparator, simulation"
    )
    simulation: bool | None = Field(
        None, description="true when no Lean runs here: a scripted world simulates it, 'proved' is not Lean's"
    )


class JobCancelled(BaseModel):
    job_id: str
    status: JobStatus


class PremisesRequest(Strict):
    goal: str
    k: int = Field(10, ge=1)


class PremiseOut(BaseModel):
    full_name: str
    code: str
    path: str
    score: float


class PremisesResponse(BaseModel):
    premises: list[PremiseOut]


class CheckRequest(Strict):
    statement: str
    proof: str
    header: str | None = None


class CheckResponse(BaseModel):
    accepted: bool = Field(description="true only when Lean (or a scripted world) accepted the proof")
    status: Literal["accepted", "rejected", "not_checked"] = Field(
        description="not_checked: no Lean runs here (guard-only); the guard found nothing to refuse"
    )
    reasons: list[str]
    mode: str = Field(
        description="lean | scripted (a simulated Lean) | guard-only (no backend: static checks)"
    )
    check: str | None = Field(None, description="the check that refused: guard, compile, statement, axioms")
    judge: str | None = Field(
        None, description="the judge that gave the verdict: repl, comparator, simulation"
    )
    simulation: bool | None = Field(
        None,
        description="true when no Lean runs here: a scripted world simulates it, 'accepted' is not Lean's",
    )


class SolveRequest(Strict):
    """Either ``problem`` (the FPS benchmark fields) or, from an editor, ``statement`` (+ ``header``): a Lean
    statement of FPS shape ``theorem NAME <binders> : ∃ (answer : T), <conclusion>``."""

    problem: dict[str, Any] | None = Field(
        None, description="an FPS problem: informal_problem, intros, outros, formal_answer..."
    )
    statement: str | None = Field(
        None, description="theorem NAME <binders> : ∃ (answer : T), [∀ (h : P),] <conclusion> (editor form)"
    )
    header: str | None = Field(None, description="with statement: the text above it (header commands kept)")
    formal_answer: str | None = Field(
        None, description="with statement: the ground truth (a Prop about answer); without it no RPE is run"
    )
    max_expansions: int | None = Field(None, ge=1)
    time_limit_s: float | None = Field(None, gt=0)


class HealthResponse(BaseModel):
    status: str
    sessions: dict[str, int] | None = None
    jobs: int | None = None
    generator_queue: int | None = None


class VersionResponse(BaseModel):
    version: str
    backend: str
    generator: str
    lean: str
