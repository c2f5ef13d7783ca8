"""Solve one FPS problem: any searcher on the post-prelude state, then the final check; one JSON record.

The searcher runs unchanged on :class:`prover.fps.prelude.FpsSession` (it starts the statement, the session
runs the prelude), so best-first, MCTS, multi-perspective search and whole-proof sampling all apply; the
answer goal is searched like any other goal. Nothing the search reports counts until
:meth:`prover.fps.check.FpsChecker.final_check` has recompiled it in fresh environments and RPE has judged it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prover.fps.check import FinalCheck, FpsChecker
from prover.fps.prelude import FpsSession
from prover.fps.problem import FpsProblem
from prover.fps.settings import SolverSettings
from prover.fps.statements import dfps_backward_theorem, submission_problems
from prover.lean.session import LeanSession
from prover.search.settings import SearchSettings

#: Record statuses: solved (submitted, RPE-correct), ne_submitted (submitted, not RPE-correct), unsubmitted
#: (no checked answer), invalid (the ground truth does not elaborate: not scored), error.
STATUSES = ("solved", "ne_submitted", "unsubmitted", "invalid", "error")


@dataclass
class SolveRecord:
    """One problem's outcome, the unit of the results file."""

    id: str
    status: str
    mode: str = "fps"
    answer_type: str = ""
    answer: str | None = None
    ground_truth: str = ""
    informal_answer: str = ""
    restated: bool = False
    restatement: list[str] = field(default_factory=list)
    #: The Proven column: FPS -- solved (the substituted whole proof is the proof); D-FPS -- solved and the
    #: backward (``mpr``) direction of the submission proved and verified.
    proven: bool = False
    #: D-FPS backward attempt: status, proof, reason (empty when none was made).
    backward: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    proof: str = ""
    search: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    time_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "mode": self.mode,
            "answer_type": self.answer_type,
            "answer": self.answer,
            "ground_truth": self.ground_truth,
            "informal_answer": self.informal_answer,
            "restated": self.restated,
            "restatement": list(self.restatement),
            "proven": self.proven,
            "backward": self.backward,
            "reason": self.reason,
            "proof": self.proof,
            "search": self.search,
            "check": self.check,
            "time_s": round(self.time_s, 3),
        }


def record_from_check(problem: FpsProblem, check: FinalCheck, mode: str = "fps") -> SolveRecord:
    restatement = check.restatement
    return SolveRecord(
        id=problem.id,
        status=check.status,
        mode=mode,
        answer_type=problem.category,
        answer=check.answer,
        ground_truth=problem.formal_answer,
        informal_answer=problem.informal_answer,
        restated=bool(restatement and restatement.flagged),
        restatement=list(restatement.reasons) if restatement else [],
        # FPS: a solved answer was recompiled substituted into the full statement, which IS its proof
        proven=mode == "fps" and check.status == "solved",
        reason=check.reason,
        proof=check.proof,
        check=check.to_json(),
    )


def backward_search_settings(forward: Any, settings: SolverSettings) -> SearchSettings:
    """The backward (``mpr``) search's settings: the forward ones with ``settings.backward_search`` on top."""
    from prover.search.settings import search_settings

    base = search_settings(forward)
    over = dict(settings.backward_search)
    if not over:
        return base
    data = base.model_dump() if over.get("name", base.name) == base.name else {}
    return search_settings({**data, **over, "name": over.get("name", base.name)})


def budget_text(settings: Any) -> str:
    """``N×S×T in Ts``: a search budget with its wall clock (the backward budget often differs only there)."""
    if settings is None:
        return ""
    return f"{settings.budget} in {settings.time_limit_s:g}s"


def make_backward_searcher(searcher: Any, settings: SolverSettings) -> Any:
    """A searcher with the backward direction's own budget (the forward searcher when there is none)."""
    from prover.search.factory import make_searcher

    forward = getattr(searcher, "settings", None)
    if forward is None or not settings.backward_search:
        return searcher
    return make_searcher(backward_search_settings(forward, settings))


def prove_backward(
    session: LeanSession,
    problem: FpsProblem,
    submission: str,
    searcher: Any,
    generator: Any,
    critic: Any = None,
) -> dict[str, Any]:
    """D-FPS backward proving: search ``(<submission>) → (<last outro>)`` under the intros, ``answer`` and the
    other outros with the run's searcher, then verify the proof (guard, compile, ``#print axioms``).

    Returns ``{"status": "proved" | "failed" | "refused", "proof", "reason", "theorem", "budget"}``; never
    raises for Lean-side failures.
    """
    refused = submission_problems(submission)
    if refused:
        return {"status": "refused", "proof": "", "reason": f"submission refused: {refused[0]}"}
    theorem = dfps_backward_theorem(problem, submission)
    budget = budget_text(getattr(searcher, "settings", None))
    out: dict[str, Any] = {
        "theorem": theorem.name,
        "status": "failed",
        "proof": "",
        "reason": "",
        "budget": budget,
    }
    try:
        result = searcher.search(session, generator, theorem, critic)
    except Exception as exc:  # a broken search is this attempt's failure, not the problem's
        out["reason"] = f"search: {type(exc).__name__}: {exc}"[:300]
        return out
    if not result.proved or not result.proof:
        out["reason"] = result.error or f"search: {getattr(result.status, 'value', result.status)}"
        return out
    verdict = result.verdict if result.verdict is not None else session.verify(theorem, result.proof)
    out["proof"] = result.proof
    if not verdict.accepted:
        out["reason"] = f"verify ({verdict.check}): " + "; ".join(verdict.reasons)[:300]
        return out
    out["status"] = "proved"
    return out


def solve_problem(
    session: LeanSession,
    problem: FpsProblem,
    searcher: Any,
    generator: Any,
    checker: FpsChecker,
    critic: Any = None,
    backward_searcher: Any = None,
) -> SolveRecord:
    """Search, then check. Lean-side failures are results; only a broken session raises.

    ``backward_searcher`` (D-FPS ``mpr``) defaults to :func:`make_backward_searcher` of ``searcher``.
    """
    mode = checker.settings.mode
    started = time.monotonic()
    base = SolveRecord(
        problem.id,
        "error",
        mode=mode,
        answer_type=problem.category,
        ground_truth=problem.formal_answer,
        informal_answer=problem.informal_answer,
    )
    if checker.settings.preflight_formal_answers:
        why = checker.preflight(problem)
        if why is not None:
            base.status, base.reason = "invalid", f"formal_answer does not elaborate: {why}"
            base.time_s = time.monotonic() - started
            return base
    fps = FpsSession(session, problem, mode, checker.settings.answer_goal)
    result = searcher.search(fps, generator, fps.theorem, critic)
    base.search = {
        "status": str(getattr(result.status, "value", result.status)),
        "budget": result.budget,
        "error": result.error,
        "stats": result.stats.to_json() if hasattr(result.stats, "to_json") else {},
    }
    if not result.proved or not result.proof:
        base.status = "error" if result.error and "start failed" in result.error else "unsubmitted"
        base.reason = result.error or f"search: {base.search['status']}"
        base.time_s = time.monotonic() - started
        return base
    solution = next((list(p) for p in fps.finished if "\n".join(p) == result.proof), result.proof.split("\n"))
    whole = getattr(searcher, "mode", "") == "whole_proof" or getattr(result, "samples", None) is not None
    record = record_from_check(problem, checker.final_check(problem, solution, whole_proof=whole), mode)
    record.search = base.search
    if mode == "dfps" and record.status == "solved" and record.answer and checker.settings.prove_backward:
        backward = backward_searcher or make_backward_searcher(searcher, checker.settings)
        record.backward = prove_backward(session, problem, record.answer, backward, generator, critic)
        record.proven = record.backward.get("status") == "proved"
    record.time_s = time.monotonic() - started
    return record
