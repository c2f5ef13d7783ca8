"""The FPS prelude as tactics over a :class:`LeanSession`, and a session view that starts problems after it.

After ``intro <intros>``, ``apply Exists.intro`` and ``intro <outros[:-1]>`` the state has two goals: the main
goal (the conclusion about the answer metavariable ``?w``, with the hypotheses in context) and the answer goal
(``case w``, context: the intros only, so the answer cannot mention the hypotheses). ``apply`` puts the answer
goal last. The REPL acts on the first goal only, so the session steers (``SolverSettings.answer_goal``):

- ``last`` (the reference's order): searchers work on the proof and assign the answer by unification, or reach
  the answer goal once the rest is closed;
- ``first``: the session opens with ``pick_goal N`` so the first step chooses the answer term (problems whose
  conclusion unification cannot solve); :meth:`FpsSession.focus` / :meth:`FpsSession.focus_answer` do the same
  for any state, for a searcher policy that picks goals.

The REPL prints goals unpruned: a goal that unification already assigned stays in its list. When the answer
goal is listed and no other goal mentions ``?w`` any more (it was assigned, or it now comes first), the session
sends ``all_goals skip`` (which drops assigned goals) and keeps its result only when it removed goals.

:class:`FpsSession` is that view for searchers, which start from ``session.start(theorem)``: ``start`` runs
the prelude, states carry the solver's tactics only (so proofs are the solution, without the prelude), and
the inner path (prelude, steering, solution and pruning steps) is kept in the handle for the final check,
together with what each step becomes once the answer is substituted (``kept``; see :func:`substituted_step`).
"""

from __future__ import annotations

import re
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
STEER = "pick_goal"
#: The answer metavariable as goals print it while unassigned (``apply Exists.intro`` names it after ``w``).
ANSWER_MVAR = re.compile(r"\?w(?![\w'!?₀-₉])")
_GOAL_INDEX = re.compile(r"(pick_goal|on_goal)\s+(-?)(\d+)(\s*=>.*)?", re.DOTALL)
_CASE_W = re.compile(r"(case|case')\s+w\s*=>", re.DOTALL)


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


def substituted_step(goals: Sequence[str], tactic: str, answer_at: int | str | None) -> str | None:
    """What a solution step becomes in the substituted recompile, where ``refine ⟨(<answer> : T), ?_⟩``
    leaves no answer goal: None when it acted on the answer goal (first goal, ``case w =>``, ``pick_goal`` /
    ``on_goal`` naming it), a ``pick_goal`` / ``on_goal`` index renumbered for the list without it, else as is.

    ``answer_at``: the answer goal's index in ``goals`` (None: not listed; see :func:`track_answer`). A text
    is looked up (its first occurrence): only for callers without the index, since a twin goal with the same
    text (another ``case w`` of the same type) would be taken for it.
    """
    if isinstance(answer_at, str):
        answer_at = list(goals).index(answer_at) if answer_at in goals else None
    if answer_at is None or not 0 <= answer_at < len(goals):
        return tactic
    a = answer_at
    text = tactic.strip()
    if a == 0 or _CASE_W.match(text):
        return None
    if text == "swap":
        text = "pick_goal 2"
    m = _GOAL_INDEX.fullmatch(text)
    if m is None or (m.group(1) == "on_goal") != bool(m.group(4)):
        return tactic
    n = int(m.group(3))
    if not 1 <= n <= len(goals):
        return tactic  # Lean refuses it in both forms
    i = len(goals) - n if m.group(2) else n - 1
    if i == a:
        return None
    return f"{m.group(1)} {i + 1 - (i > a)}{m.group(4) or ''}"


def _steered(n: int, tactic: str) -> list[int] | None:
    """For a steering tactic (``pick_goal k`` / ``pick_goal -k`` / ``swap``) on ``n`` goals: the old index of
    each new position; None for any other tactic."""
    text = tactic.strip()
    if text == "swap":
        text = "pick_goal 2"
    m = _GOAL_INDEX.fullmatch(text)
    if m is None or m.group(1) != "pick_goal" or m.group(4):
        return None
    k = int(m.group(3))
    if not 1 <= k <= n:
        return None
    i = n - k if m.group(2) else k - 1
    return [i, *(j for j in range(n) if j != i)]


def track_answer(
    before: Sequence[str], answer_at: int | None, tactic: str, after: Sequence[str]
) -> int | None:
    """The answer goal's index after ``tactic`` took ``before`` to ``after`` (None: it is gone or cannot be
    told). The answer goal is known by its POSITION, never by its text alone: a twin goal (another
    ``case w`` of the same type, from an inner existential) prints the same.

    - a steering tactic (``pick_goal``, ``swap``) permutes the goals as Lean does;
    - any other tactic on the answer goal (index 0) acted on it: gone (closed, or replaced by its subgoals);
    - ``all_goals skip`` (pruning) drops assigned goals and keeps the others in order: the answer goal is
      found by its text only when neither list has a twin of it;
    - otherwise the tactic acted on the goals before it, and the goals after the first one keep their order
      at the end of the list: the answer goal keeps its distance from the end;
    - the position found must still print as the answer goal did; when it does not, the goal whose text
      matches is taken only when exactly one does (else None: fail closed, nothing is dropped or steered).
    """
    if answer_at is None or not 0 <= answer_at < len(before):
        return None
    text = before[answer_at]
    if list(after) == list(before):  # nothing moved (``skip``, a ``try`` that failed)
        return answer_at
    order = _steered(len(before), tactic)
    if order is not None:
        return order.index(answer_at) if len(after) == len(before) else None
    same = [i for i, g in enumerate(after) if g == text]
    if tactic.strip() == PRUNE:
        # drops the assigned goals and keeps the order of the rest: known only when no twin prints the same
        return same[0] if len(same) == 1 and before.count(text) == 1 else None
    if answer_at == 0:
        return None
    guess = len(after) - (len(before) - answer_at)
    if 0 <= guess < len(after) and after[guess] == text:
        return guess
    return same[0] if len(same) == 1 else None


@dataclass(frozen=True)
class FpsHandle:
    """The inner session's state, the full tactic path that reached it (prelude, steering and pruning
    included) and, for each step after the prelude, what it becomes with the answer substituted (None: dropped).
    """

    inner: TacticState
    inner_path: tuple[str, ...]
    kept: tuple[str | None, ...] = ()
    #: the answer goal's index in ``inner.goals`` (None: closed, pruned or not known; :func:`track_answer`)
    answer_at: int | None = None


@dataclass(frozen=True)
class Opened:
    """A problem after the prelude: the state, the answer goal's text and index, and the prelude that was run."""

    state: TacticState
    answer_goal: str
    prelude: tuple[str, ...]
    #: the answer goal's index in ``state.goals`` (``apply Exists.intro`` puts it last)
    answer_at: int | None = None


def open_problem(session: LeanSession, problem: FpsProblem, mode: str = "fps") -> Opened | StartResult:
    """Start the statement and run the prelude; a failure comes back as the failing result."""
    theorem = problem_theorem(problem, mode)
    state = session.start(theorem)
    if not isinstance(state, TacticState):
        return state
    prelude = prelude_tactics(problem, mode)
    answer_goal = ""
    answer_at: int | None = None
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
            answer_at = len(result.goals) - 1
        else:
            answer_at = track_answer(state.goals, answer_at, tactic, result.goals)
        state = result
    if answer_at is None:
        return TacticError(("the answer goal could not be told apart after the prelude",))
    return Opened(state, answer_goal, tuple(prelude), answer_at)


class FpsSession(LeanSession):
    """A session view on one problem: ``start`` returns the state after the prelude (with
    ``answer_goal="first"`` focused on the answer goal), steps prune assigned answer goals.

    Everything else (guard, verification, commands) is the inner session's.
    """

    def __init__(
        self, inner: LeanSession, problem: FpsProblem, mode: str = "fps", answer_goal: str = "last"
    ) -> None:
        if answer_goal not in ("first", "last"):
            raise ValueError(f"answer_goal must be 'first' or 'last', got {answer_goal!r}")
        self.inner = inner
        self.problem = problem
        self.mode = mode
        self.answer_goal = answer_goal
        self.theorem = problem_theorem(problem, mode)
        self.tactic_guard = inner.tactic_guard
        self.opened: Opened | None = None
        self.prunes = 0
        #: outer path of a finished proof -> the inner session's path and its substituted form (see FpsHandle)
        self.finished: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str | None, ...]]] = {}

    def _start(self, theorem: Theorem) -> StartResult:
        if theorem.statement != self.theorem.statement:
            return TacticError((f"{theorem.name}: this FPS session is for {self.theorem.name}",))
        opened = open_problem(self.inner, self.problem, self.mode)
        if not isinstance(opened, Opened):
            return opened
        self.opened = opened
        inner = opened.state
        root = TacticState(inner.goals, theorem, (), FpsHandle(inner, inner.path, (), opened.answer_at))
        if self.answer_goal == "first" and opened.answer_at is not None:
            # part of the opening, like the prelude: not in the solution's path, dropped when substituted
            focused = self._steer(root, opened.answer_at)
            if isinstance(focused, ProofFinished):  # steering closes no goal; a world that says so is wrong
                return TacticError(("steering to the answer goal finished the proof",))
            if not isinstance(focused, TacticState):
                return focused
            return TacticState(focused.goals, theorem, (), focused.handle)
        return root

    # --- steering ---------------------------------------------------------------------------------------
    def focus(self, state: TacticState, index: int) -> TacticResult:
        """``state`` with its goal ``index`` (0-based) first, through ``pick_goal``: a searcher's goal choice.

        The step is part of the path, so the solution replays it; index 0 is the state itself.
        """
        if not 0 <= index < len(state.goals):
            return TacticError((f"no goal {index + 1}: the state has {len(state.goals)}",))
        if index == 0:
            return state
        return self.run_tactic(state, f"{STEER} {index + 1}")

    def focus_answer(self, state: TacticState) -> TacticResult:
        """``state`` with the answer goal first; the state itself when it has no open answer goal (closed, or
        assigned by unification and pruned) or when it is first already."""
        at = state.handle.answer_at if isinstance(state.handle, FpsHandle) else None
        if at is None:
            return state
        return self.focus(state, at)

    def _steer(self, state: TacticState, index: int) -> TacticResult:
        """``pick_goal`` on the inner state, recorded in the inner path only (the session's own step)."""
        if index == 0:
            return state
        assert isinstance(state.handle, FpsHandle)
        h = state.handle
        tactic = f"{STEER} {index + 1}"
        result = self.inner.run_tactic(h.inner, tactic)
        if not isinstance(result, TacticState):
            return result
        at = track_answer(h.inner.goals, h.answer_at, tactic, result.goals)
        return TacticState(
            result.goals, state.theorem, state.path, FpsHandle(result, result.path, (*h.kept, None), at)
        )

    # --- steps ------------------------------------------------------------------------------------------
    def _wrap(self, outer: TacticState, tactic: str, result: TacticResult, at: int | None) -> TacticResult:
        assert isinstance(outer.handle, FpsHandle)
        h = outer.handle
        path = (*outer.path, tactic)
        if isinstance(result, ProofFinished | TacticState):
            extra = len(result.path) - len(h.inner_path) - 1  # pruning steps the session added
            kept = (*h.kept, substituted_step(h.inner.goals, tactic, h.answer_at), *([None] * extra))
            if isinstance(result, ProofFinished):
                self.finished[path] = (result.path, kept)
                return ProofFinished(outer.theorem, path, result.messages)
            return TacticState(result.goals, outer.theorem, path, FpsHandle(result, result.path, kept, at))
        return result

    def _prune(
        self, before: TacticState, answer_at: int | None, tactic: str, result: TacticResult
    ) -> tuple[TacticResult, int | None]:
        """``result`` of ``tactic`` on ``before`` (whose answer goal sits at ``answer_at``) and the answer goal's
        index in it. Drop the answer goal once unification assigned it: it is listed, and no other goal
        mentions ``?w`` (now, while one did before -- or it comes first). ``all_goals skip`` keeps an
        unassigned goal, so the pruned result is used only when it removed goals."""
        if not isinstance(result, TacticState) or self.opened is None:
            return result, None
        at = track_answer(before.goals, answer_at, tactic, result.goals)
        if at is None:
            return result, None
        others = [g for i, g in enumerate(result.goals) if i != at]
        if any(ANSWER_MVAR.search(g) for g in others):
            return result, at
        was_open = any(ANSWER_MVAR.search(g) for i, g in enumerate(before.goals) if i != answer_at)
        if at != 0 and not was_open:
            return result, at
        self.prunes += 1
        pruned = self.inner.run_tactic(result, PRUNE)
        if isinstance(pruned, ProofFinished):
            return pruned, None
        if isinstance(pruned, TacticState) and len(pruned.goals) < len(result.goals):
            return pruned, track_answer(result.goals, at, PRUNE, pruned.goals)
        return result, at

    def _run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        return self._run_tactics([(state, tactic)])[0]

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        inner_steps = []
        for state, tactic in steps:
            if not isinstance(state.handle, FpsHandle):
                raise TypeError("not a state of this FPS session")
            inner_steps.append((state.handle.inner, tactic))
        results = self.inner.run_tactics(inner_steps)
        out: list[TacticResult] = []
        for (s, t), (i, _), r in zip(steps, inner_steps, results, strict=True):
            assert isinstance(s.handle, FpsHandle)
            pruned, at = self._prune(i, s.handle.answer_at, t, r)
            out.append(self._wrap(s, t, pruned, at))
        return out

    def _verify(self, theorem: Theorem, proof: str) -> Verdict:
        """A whole proof of the statement (whole-proof sampling writes those), checked by the inner session."""
        return self.inner.verify(theorem, proof)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def replay_solution(
    session: LeanSession,
    problem: FpsProblem,
    solution: Sequence[str],
    mode: str = "fps",
    answer_goal: str = "last",
) -> tuple[Opened, list[str], list[str | None]] | str:
    """Run the solution from the prelude through :class:`FpsSession` (opened as the search was).

    Returns (the opened problem, the steps after the prelude as the inner session ran them -- steering and
    pruning included --, and what each becomes with the answer substituted, None when dropped), or why it
    did not finish.
    """
    fps = FpsSession(session, problem, mode, answer_goal)
    state = fps.start(fps.theorem)
    if not isinstance(state, TacticState) or fps.opened is None:
        return f"the prelude failed: {_describe(state)}"
    opened = fps.opened
    for i, tactic in enumerate(solution):
        result = fps.run_tactic(state, tactic)
        if isinstance(result, ProofFinished):
            if i != len(solution) - 1:
                return f"the proof finished at step {i + 1} of {len(solution)}"
            inner, kept = fps.finished[result.path]
            return opened, list(inner[len(opened.prelude) :]), list(kept)
        if not isinstance(result, TacticState):
            return f"step {i + 1} ({tactic!r}) failed: {_describe(result)}"
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
