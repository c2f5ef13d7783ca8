"""The FPS prelude as tactics over a :class:`LeanSession`, and a session view that starts problems after it.

After ``intro <intros>``, ``apply Exists.intro`` and ``intro <outros[:-1]>`` the state has two goals: the main
goal (the conclusion about the answer metavariable, with the hypotheses in context) and the answer goal
(``case w``, context: the intros only, so the answer cannot mention the hypotheses). ``apply`` puts the answer
goal last, so searchers, which act on the first goal, work on the proof and assign the answer by unification
or reach the answer goal once the rest is closed. The REPL prints goals unpruned: a goal that unification
already assigned stays in its list, so when the answer goal comes first we send ``all_goals skip`` (which
drops assigned goals) and keep its result only when it removed goals.

:class:`FpsSession` is that view for searchers, which start from ``session.start(theorem)``: ``start`` runs
the prelude, states carry the solver's tactics only (so proofs are the solution, without the prelude), and
the inner path (prelude, solution and the pruning steps) is kept in the handle for the final check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prover.fps.problem import FpsProblem
from prover.fps.statements import dfps_forward_theorem, fps_theorem
from prover.lean.session import LeanSession
from prover.lean.types import (
    Crash,
    ProofFinished,
    StartResult,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
    Timeout,
    Verdict,
)

PRUNE = "all_goals skip"


def prelude_tactics(problem: FpsProblem, mode: str = "fps") -> list[str]:
    """The tactics that turn the statement into the solving state (each acts on the first goal).

    ``dfps`` (forward solving) also introduces ``answer`` and the conclusion, so the main goal is ``⊢ ?w``:
    derive a proposition about ``answer`` from the hypotheses.
    """
    out = []
    if problem.intros:
        out.append("intro " + " ".join(v.intro_name for v in problem.intros))
    if mode == "dfps":
        out.append("intro answer")
    out.append("apply Exists.intro")
    outros = list(problem.hypotheses) + ([problem.goal] if mode == "dfps" else [])
    if outros:
        out.append("intro " + " ".join(v.intro_name for v in outros))
    return out


def problem_theorem(problem: FpsProblem, mode: str = "fps") -> Theorem:
    """The statement searched: FPS, or for ``dfps`` the forward-solving (``mp``) statement."""
    return dfps_forward_theorem(problem) if mode == "dfps" else fps_theorem(problem)


@dataclass(frozen=True)
class FpsHandle:
    """The inner session's state and the full tactic path that reached it (prelude and pruning included)."""

    inner: TacticState
    inner_path: tuple[str, ...]


@dataclass(frozen=True)
class Opened:
    """A problem after the prelude: the state, the answer goal's text, and the prelude that was run."""

    state: TacticState
    answer_goal: str
    prelude: tuple[str, ...]


def open_problem(session: LeanSession, problem: FpsProblem, mode: str = "fps") -> Opened | StartResult:
    """Start the statement and run the prelude; a failure comes back as the failing result."""
    theorem = problem_theorem(problem, mode)
    state = session.start(theorem)
    if not isinstance(state, TacticState):
        return state
    prelude = prelude_tactics(problem, mode)
    answer_goal = ""
    for tactic in prelude:
        result = session.run_tactic(state, tactic)
        if not isinstance(result, TacticState):
            if isinstance(result, ProofFinished):
                return TacticError(
                    (f"the prelude step {tactic!r} closed the problem: it is trivial as stated",)
                )
            return result
        if tactic == "apply Exists.intro":
            if len(result.goals) != len(state.goals) + 1:
                return TacticError((f"'apply Exists.intro' gave {len(result.goals)} goals, expected 2",))
            answer_goal = result.goals[-1]
        state = result
    return Opened(state, answer_goal, tuple(prelude))


class FpsSession(LeanSession):
    """A session view on one problem: ``start`` returns the state after the prelude, steps prune assigned goals.

    Everything else (guard, verification, commands) is the inner session's.
    """

    def __init__(self, inner: LeanSession, problem: FpsProblem, mode: str = "fps") -> None:
        self.inner = inner
        self.problem = problem
        self.mode = mode
        self.theorem = problem_theorem(problem, mode)
        self.tactic_guard = inner.tactic_guard
        self.opened: Opened | None = None
        self.prunes = 0
        #: outer path of a finished proof -> the inner session's path (prelude and pruning steps included)
        self.finished: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _start(self, theorem: Theorem) -> StartResult:
        if theorem.statement != self.theorem.statement:
            return TacticError((f"{theorem.name}: this FPS session is for {self.theorem.name}",))
        opened = open_problem(self.inner, self.problem, self.mode)
        if not isinstance(opened, Opened):
            return opened
        self.opened = opened
        inner = opened.state
        return TacticState(inner.goals, theorem, (), FpsHandle(inner, inner.path))

    def _wrap(self, outer: TacticState, tactic: str, result: TacticResult) -> TacticResult:
        path = (*outer.path, tactic)
        if isinstance(result, ProofFinished):
            self.finished[path] = result.path
            return ProofFinished(outer.theorem, path, result.messages)
        if isinstance(result, TacticState):
            return TacticState(result.goals, outer.theorem, path, FpsHandle(result, result.path))
        return result

    def _prune(self, result: TacticResult) -> TacticResult:
        """When the answer goal comes first, drop it if unification already assigned it."""
        if not isinstance(result, TacticState) or self.opened is None:
            return result
        if not result.goals or result.goals[0] != self.opened.answer_goal:
            return result
        self.prunes += 1
        pruned = self.inner.run_tactic(result, PRUNE)
        if isinstance(pruned, ProofFinished) or (
            isinstance(pruned, TacticState) and len(pruned.goals) < len(result.goals)
        ):
            return pruned
        return result

    def _run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        return self._run_tactics([(state, tactic)])[0]

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        inner_steps = []
        for state, tactic in steps:
            if not isinstance(state.handle, FpsHandle):
                raise TypeError("not a state of this FPS session")
            inner_steps.append((state.handle.inner, tactic))
        results = self.inner.run_tactics(inner_steps)
        return [self._wrap(s, t, self._prune(r)) for (s, t), r in zip(steps, results, strict=True)]

    def _verify(self, theorem: Theorem, proof: str) -> Verdict:
        """A whole proof of the statement (whole-proof sampling writes those), checked by the inner session."""
        return self.inner.verify(theorem, proof)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def replay_solution(
    session: LeanSession, problem: FpsProblem, solution: Sequence[str], mode: str = "fps"
) -> tuple[Opened, list[str], list[bool]] | str:
    """Run the solution from the prelude through :class:`FpsSession`.

    Returns (the opened problem, the solution as the inner session ran it -- pruning steps included --, and
    for each of those steps whether it acted on the answer goal), or why it did not finish.
    """
    fps = FpsSession(session, problem, mode)
    state = fps.start(fps.theorem)
    if not isinstance(state, TacticState) or fps.opened is None:
        return f"the prelude failed: {_describe(state)}"
    opened = fps.opened
    assert isinstance(state.handle, FpsHandle)
    done = len(state.handle.inner_path)
    steps: list[str] = []
    on_answer: list[bool] = []
    for i, tactic in enumerate(solution):
        first = state.goals[0] if state.goals else ""
        result = fps.run_tactic(state, tactic)
        if isinstance(result, ProofFinished):
            inner: tuple[str, ...] = fps.finished.get(result.path, ())
        elif isinstance(result, TacticState) and isinstance(result.handle, FpsHandle):
            inner = result.handle.inner_path
        else:
            return f"step {i + 1} ({tactic!r}) failed: {_describe(result)}"
        new = list(inner[done:]) or [tactic]
        steps.extend(new)
        on_answer.extend([first == opened.answer_goal] + [False] * (len(new) - 1))
        done = len(inner)
        if isinstance(result, ProofFinished):
            if i != len(solution) - 1:
                return f"the proof finished at step {i + 1} of {len(solution)}"
            return opened, steps, on_answer
        state = result
    return "the solution leaves goals open"


def _describe(result: object) -> str:
    if isinstance(result, TacticError):
        return "; ".join(result.messages)[:300]
    if isinstance(result, Timeout):
        return f"timeout after {result.seconds:g}s"
    if isinstance(result, Crash):
        return f"crash: {result.reason}"
    return repr(result)[:300]
