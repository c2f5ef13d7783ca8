"""Solve one FPS problem: any searcher on the post-prelude state, then the final check; one JSON record.

The searcher runs unchanged on :class:`prover.fps.prelude.FpsSession` (it starts the statement, the session
runs the prelude), so best-first, MCTS, multi-perspective search and whole-proof sampling all apply; the
answer goal is searched like any other goal. Nothing the search reports counts until
:meth:`prover.fps.check.FpsChecker.final_check` has recompiled it in fresh environments and RPE has judged it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prover.fps.check import FinalCheck, FpsChecker
from prover.fps.prelude import FpsSession
from prover.fps.problem import FpsProblem
from prover.fps.settings import SolverSettings
from prover.fps.statements import dfps_backward_theorem, proving_theorem, submission_problems
from prover.lean.session import LeanSession
from prover.lean.types import Verdict
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
    #: The paper's Proven column: the separate proving run with the ground truth given (``proving``) found a
    #: proof and it verified.
    proven: bool = False
    #: That proving run: status, proof, reason, theorem, budget (empty when none was made).
    proving: dict[str, Any] = field(default_factory=dict)
    #: D-FPS backward attempt on the submission: status, proof, reason (empty when none was made).
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
            "proving": self.proving,
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
        reason=check.reason,
        proof=check.proof,
        check=check.to_json(),
    )


def backward_search_settings(forward: Any, settings: SolverSettings) -> SearchSettings:
    """The backward (``mpr``) search's settings: the forward ones with ``settings.backward_search`` on top."""
    return overridden_search_settings(forward, settings.backward_search)


def proving_search_settings(forward: Any, settings: SolverSettings) -> SearchSettings:
    """The ground-truth proving run's settings: the solving ones with ``settings.proving_search`` on top."""
    return overridden_search_settings(forward, settings.proving_search)


def overridden_search_settings(forward: Any, overrides: dict[str, Any]) -> SearchSettings:
    """``forward`` (search settings or their config) with ``overrides`` on top (another ``name``: its own
    defaults plus the overrides)."""
    from prover.search.settings import search_settings

    base = search_settings(forward)
    over = dict(overrides)
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
    return _searcher_with(searcher, settings.backward_search)


def make_proving_searcher(searcher: Any, settings: SolverSettings) -> Any:
    """A searcher with the proving run's own budget (the solving searcher when there is none)."""
    return _searcher_with(searcher, settings.proving_search)


def _searcher_with(searcher: Any, overrides: dict[str, Any]) -> Any:
    from prover.search.factory import make_searcher

    forward = getattr(searcher, "settings", None)
    if forward is None or not overrides:
        return searcher
    return make_searcher(overridden_search_settings(forward, overrides))


def attempt_theorem(
    session: LeanSession,
    theorem: Any,
    searcher: Any,
    generator: Any,
    critic: Any = None,
    prover: Any = None,
    overrides: dict[str, Any] | None = None,
    judge: Callable[[Any, str], Verdict] | None = None,
) -> dict[str, Any]:
    """Search ``theorem``, then have the proof judged: the one "search, then verify, then a status" of this
    layer (``{"status": "proved" | "failed", "proof", "reason", "theorem", "budget", "judge"}``); never raises
    for Lean-side failures.

    With ``prover`` (the run's front door, ``prover.theorem_prover.TheoremProver``) the attempt goes through
    ``prover.attempt(theorem, Budget(**overrides), session=session)`` -- one search, the judge once -- whenever
    ``overrides`` are budget keys; otherwise (another searcher ``name``) ``searcher`` runs here and the judge
    decides: ``judge`` (``prover.lean.judge``'s ``Judge.judge``, e.g. the checker's), else the front door's.
    The searcher's own verdict is a hint and is not read. Only with neither (library use) the search session's
    answer decides, and ``judge`` says ``session``.
    """
    out: dict[str, Any] = {
        "theorem": theorem.name,
        "status": "failed",
        "proof": "",
        "reason": "",
        "budget": budget_text(getattr(searcher, "settings", None)),
        "judge": "",
    }
    budget = _as_budget(overrides or {}) if prover is not None else None
    if prover is not None and budget is not None:
        attempt = prover.attempt(theorem, budget, session=session)
        out["budget"], out["judge"], out["proof"] = attempt.budget, attempt.judge, attempt.proof or ""
        if attempt.proved:
            out["status"] = "proved"
        elif attempt.verdict is not None and attempt.proof:
            out["reason"] = f"verify ({attempt.verdict.check}): " + "; ".join(attempt.verdict.reasons)[:300]
        else:
            out["reason"] = attempt.error or f"search: {attempt.status.value}"
        return out
    try:
        result = searcher.search(session, generator, theorem, critic)
    except Exception as exc:  # a broken search is this attempt's failure, not the problem's
        out["reason"] = f"search: {type(exc).__name__}: {exc}"[:300]
        return out
    if not result.proved or not result.proof:
        out["reason"] = result.error or f"search: {getattr(result.status, 'value', result.status)}"
        return out
    decide = judge if judge is not None else getattr(prover, "judge", None)
    if decide is not None:  # the judge decides "proved" (issue 19); a search session's answer is a hint
        try:
            verdict = decide(theorem, result.proof)
        except Exception as exc:  # fail closed
            verdict = Verdict(False, (f"the judge failed: {type(exc).__name__}: {exc}",), "judge")
        out["judge"] = verdict.judge or "session"
    else:  # no judge given (library use): the search session's answer, named as such
        verdict = result.verdict if result.verdict is not None else session.verify(theorem, result.proof)
        out["judge"] = "session"
    out["proof"] = result.proof
    if not verdict.accepted:
        out["reason"] = f"verify ({verdict.check}): " + "; ".join(verdict.reasons)[:300]
        return out
    out["status"] = "proved"
    return out


def _as_budget(overrides: dict[str, Any]) -> Any:
    """The front door's ``Budget`` for search-key ``overrides`` (empty: no override), or None when they are
    more than a budget (another searcher ``name``, other keys)."""
    from prover.theorem_prover import Budget

    keys = set(Budget.model_fields)
    if not set(overrides) <= keys:
        return None
    return Budget(**overrides)


def prove_backward(
    session: LeanSession,
    problem: FpsProblem,
    submission: str,
    searcher: Any,
    generator: Any,
    **attempt: Any,
) -> dict[str, Any]:
    """D-FPS backward proving: search ``(<submission>) → (<last outro>)`` under the intros, ``answer`` and the
    other outros with the run's searcher, then have the proof judged: :func:`attempt_theorem`, whose other
    arguments (``critic``, ``prover``, ``overrides``, ``judge``) ``attempt`` passes on.

    Returns ``{"status": "proved" | "failed" | "refused", "proof", "reason", "theorem", "budget"}``; never
    raises for Lean-side failures.
    """
    refused = submission_problems(submission)
    if refused:
        return {"status": "refused", "proof": "", "reason": f"submission refused: {refused[0]}"}
    theorem = dfps_backward_theorem(problem, submission)
    return attempt_theorem(session, theorem, searcher, generator, **attempt)


def solve_problem(
    session: LeanSession,
    problem: FpsProblem,
    searcher: Any,
    generator: Any,
    checker: FpsChecker,
    critic: Any = None,
    backward_searcher: Any = None,
    proving_searcher: Any = None,
    prover: Any = None,
) -> SolveRecord:
    """Search, then check; then, apart from the solving, the ground-truth proving run (Proven). Lean-side
    failures are results; only a broken session raises.

    ``backward_searcher`` (D-FPS ``mpr``) and ``proving_searcher`` default to :func:`make_backward_searcher`
    and :func:`make_proving_searcher` of ``searcher``; with ``prover`` (the front door) both attempts go through
    ``prover.attempt`` with the settings' budgets (:func:`attempt_theorem`).
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
            # not the solver's failure: neither solving nor proving can be scored against this ground truth
            base.status, base.reason = "invalid", f"formal_answer does not elaborate: {why}"
            base.time_s = time.monotonic() - started
            return base
    record = _solve(session, problem, searcher, generator, checker, critic, base)
    settings = checker.settings
    if mode == "dfps" and record.status == "solved" and record.answer and settings.prove_backward:
        backward = backward_searcher or make_backward_searcher(searcher, settings)
        record.backward = prove_backward(
            session,
            problem,
            record.answer,
            backward,
            generator,
            critic=critic,
            prover=prover,
            overrides=settings.backward_search,
            judge=checker.judge,  # the judge that decides the solving proofs decides these too
        )
    if settings.prove_ground_truth and record.status != "error":
        proving = proving_searcher or make_proving_searcher(searcher, settings)
        # the paper's Proven: the ground truth given (the reference's ``init_backward_state`` +
        # ``only_proving=True``), searched and judged like any theorem
        record.proving = attempt_theorem(
            session,
            proving_theorem(problem),
            proving,
            generator,
            critic,
            prover,
            settings.proving_search,
            judge=checker.judge,
        )
        record.proven = record.proving.get("status") == "proved"
    record.time_s = time.monotonic() - started
    return record


def _solve(
    session: LeanSession,
    problem: FpsProblem,
    searcher: Any,
    generator: Any,
    checker: FpsChecker,
    critic: Any,
    base: SolveRecord,
) -> SolveRecord:
    """The solving search on the post-prelude state, then the final check."""
    mode = checker.settings.mode
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
        return base
    solution = next((list(p) for p in fps.finished if "\n".join(p) == result.proof), result.proof.split("\n"))
    whole = getattr(searcher, "mode", "") == "whole_proof" or getattr(result, "samples", None) is not None
    record = record_from_check(problem, checker.final_check(problem, solution, whole_proof=whole), mode)
    record.search = base.search
    return record
