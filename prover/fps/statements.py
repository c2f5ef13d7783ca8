"""The Lean text of formal problem solving, built from a problem's fields (pure: no session here).

Every builder returns text we send ourselves; the only untrusted parts are the problem's fields (dataset
text, checked when loaded and lexed by the tests) and a submission (checked by :func:`submission_problems`
with the tactic guard's rules before it is placed in a command, and put on lines of its own so that a
trailing ``--`` comment cannot swallow our closing bracket).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from prover.fps.problem import ANSWER, FpsProblem, Variable, binders
from prover.lean.types import Theorem

#: The reference's RPE tactics, each run under ``try``; ``rw_search`` is gone from recent Mathlib.
DEFAULT_RPE_TACTICS: tuple[str, ...] = ("rfl", "norm_num", "ring_nf", "rw_search", "aesop")
#: The D-FPS submission's name (the reference's).
SUBMISSION = "h_submission"
#: Tag of the answer metavariable's goal after the FPS prelude (unique, so goals can be told apart).
ANSWER_TAG = "fps_answer"
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")


def lean_header(problem: FpsProblem, imports: str = "import Mathlib") -> str:
    """``import Mathlib`` and the problem's ``open`` lines (or the default header), as a session header."""
    return f"{imports}\n{problem.lean_header}\n"


def declaration_name(problem: FpsProblem, kind: str = "fps") -> str:
    """A valid Lean name for the problem's declaration: ``fps_<id>`` with other characters as ``_``."""
    safe = _NOT_IDENT.sub("_", problem.id)
    if len(safe) > 60:
        safe = safe[:48] + "_" + hashlib.sha256(problem.id.encode()).hexdigest()[:8]
    return f"{kind}_{safe}"


def _forall(variables: Sequence[Variable], body: str, prefix: str = "∀ ") -> str:
    text = binders(variables)
    return f"{prefix}{text},\n{body}" if text else body


def fps_type(problem: FpsProblem) -> str:
    """``∀ <intros>, ∃ (answer : T), ∀ <outros[:-1]>, (<last outro>)`` (one quantifier block per line)."""
    inner = _forall(problem.hypotheses, f"({problem.goal.t})")
    return _forall(problem.intros, f"∃ ({ANSWER} : {problem.formal_answer_type}),\n{inner}")


def dfps_type(problem: FpsProblem) -> str:
    """``∀ <intros>, ∀ (answer : T), ∃ (h_submission : Prop), ∀ <outros[:-1]>, ((<last>) ↔ h_submission)``."""
    inner = _forall(problem.hypotheses, f"(({problem.goal.t}) ↔ {SUBMISSION})")
    body = f"∀ ({ANSWER} : {problem.formal_answer_type}),\n∃ ({SUBMISSION} : Prop),\n{inner}"
    return _forall(problem.intros, body)


def dfps_forward_type(problem: FpsProblem) -> str:
    """D-FPS forward solving (the ``mp`` direction): ``∀ <intros>, ∀ (answer : T), ∃ (h_submission : Prop),
    ∀ <outros[:-1]>, (<last outro>) → h_submission``: derive a proposition about ``answer``, which is submitted."""
    inner = _forall(problem.hypotheses, f"({problem.goal.t}) → {SUBMISSION}")
    body = f"∀ ({ANSWER} : {problem.formal_answer_type}),\n∃ ({SUBMISSION} : Prop),\n{inner}"
    return _forall(problem.intros, body)


def dfps_forward_theorem(problem: FpsProblem, imports: str = "import Mathlib") -> Theorem:
    """The forward-solving statement as a :class:`Theorem` (searched and checked like an FPS statement)."""
    name = declaration_name(problem, "dfps")
    return Theorem(
        name,
        f"theorem {name} :\n{dfps_forward_type(problem)}",
        lean_header(problem, imports),
        problem.source,
        informal=problem.informal_problem,  # the D-FPS prompts show it, as the reference's do
    )


def dfps_backward_type(problem: FpsProblem, submission: str) -> str:
    """D-FPS backward proving (the ``mpr`` direction) of a submission: ``∀ <intros>, ∀ (answer : T),
    ∀ <outros[:-1]>, (<submission>) → (<last outro>)``. The submission sits on lines of its own (see the
    module docstring); check it with :func:`submission_problems` first."""
    inner = _forall(problem.hypotheses, f"(\n{submission.strip()}\n) → ({problem.goal.t})")
    return _forall(problem.intros, f"∀ ({ANSWER} : {problem.formal_answer_type}),\n{inner}")


def dfps_backward_theorem(problem: FpsProblem, submission: str, imports: str = "import Mathlib") -> Theorem:
    """The backward (``mpr``) statement of ``submission`` as a :class:`Theorem` (``dfps_mpr_<id>``)."""
    name = declaration_name(problem, "dfps_mpr")
    return Theorem(
        name,
        f"theorem {name} :\n{dfps_backward_type(problem, submission)}",
        lean_header(problem, imports),
        problem.source,
    )


def proving_type(problem: FpsProblem) -> str:
    """Formal theorem proving with the ground truth GIVEN (the paper's Proven column): the reference's
    ``BaseSolvingServer.init_backward_state`` (``common/pantograph/solving_server.py``), binder for binder:
    ``∀ <intros> (answer : T) (h_submission : <formal_answer>) <outros[:-1]>, (<last outro>)``."""
    parts = [binders(problem.intros), f"({ANSWER} : {problem.formal_answer_type})"]
    parts.append(f"({SUBMISSION} : {problem.formal_answer})")
    if problem.hypotheses:
        parts.append(binders(problem.hypotheses))
    return f"∀ {' '.join(p for p in parts if p)},\n({problem.goal.t})"


def proving_theorem(problem: FpsProblem, imports: str = "import Mathlib") -> Theorem:
    """The ground-truth proving statement (:func:`proving_type`) as a :class:`Theorem` (``ftp_<id>``)."""
    name = declaration_name(problem, "ftp")
    return Theorem(
        name, f"theorem {name} :\n{proving_type(problem)}", lean_header(problem, imports), problem.source
    )


def fps_theorem(problem: FpsProblem, imports: str = "import Mathlib") -> Theorem:
    """The FPS statement as a :class:`Theorem` the session can start (``theorem fps_<id> : …``)."""
    name = declaration_name(problem, "fps")
    return Theorem(
        name, f"theorem {name} :\n{fps_type(problem)}", lean_header(problem, imports), problem.source
    )


def dfps_theorem(problem: FpsProblem, imports: str = "import Mathlib") -> Theorem:
    """The D-FPS statement as a :class:`Theorem`."""
    name = declaration_name(problem, "dfps")
    return Theorem(
        name, f"theorem {name} :\n{dfps_type(problem)}", lean_header(problem, imports), problem.source
    )


def _example_binders(problem: FpsProblem) -> str:
    intros = binders(problem.intros)
    return (
        f"example {intros} ({ANSWER} : {problem.formal_answer_type})"
        if intros
        else (f"example ({ANSWER} : {problem.formal_answer_type})")
    )


def heartbeats_prefix(max_heartbeats: int | None) -> str:
    """``set_option maxHeartbeats N in`` before one of our check commands (None: Lean's default, 200000).

    The reference runs every check with ``maxHeartbeats 0`` (no limit; ``common/constants.py``
    ``DEFAULT_CORE_OPTIONS``); our policy is a large FINITE value plus the wall clock of the command runner, so
    a check ends in Lean's own "deterministic timeout" before the wall clock kills the process."""
    if max_heartbeats is None:
        return ""
    if int(max_heartbeats) <= 0:
        raise ValueError("maxHeartbeats must be a positive (finite) number")
    return f"set_option maxHeartbeats {int(max_heartbeats)} in\n"


def rpe_command(
    problem: FpsProblem,
    submission: str,
    tactics: Sequence[str] = DEFAULT_RPE_TACTICS,
    prop_form: bool = False,
    max_heartbeats: int | None = None,
) -> str:
    """The RPE check: ``example <intros> (answer : T) : (answer = (<sub> : T)) ↔ (<formal_answer>) := by``
    then ``try <tactic>`` per line; correct iff Lean reports no error (a goal left is an "unsolved goals"
    error) and no ``sorry``.

    FPS uses the term form for EVERY answer type, ``Prop`` included: the reference's
    ``TermSolvingServer.check_rpe`` (``common/pantograph/solving_server.py``) builds
    ``(answer = (<sub> : Prop)) ↔ (<formal_answer>)``, where the data's Prop ground truths are
    ``@Eq Prop answer True``/``False``. ``prop_form=True`` is D-FPS (``PropSolvingServer.check_rpe``): the
    submission is itself a proposition about ``answer``, compared as ``(<sub>) ↔ (<formal_answer>)``.
    """
    t = problem.formal_answer_type
    lhs = f"(\n{submission.strip()}\n)" if prop_form else f"({ANSWER} = (\n{submission.strip()}\n : {t}))"
    lines = "\n".join(f"  try {tac}" for tac in tactics) or "  skip"
    return (
        f"{heartbeats_prefix(max_heartbeats)}{_example_binders(problem)} :\n{lhs} ↔ (\n"
        f"{problem.formal_answer}\n) := by\n{lines}"
    )


def preflight_command(problem: FpsProblem, max_heartbeats: int | None = None) -> str:
    """``example <intros> (answer : T) : Prop := (<formal_answer>)``: does the ground truth elaborate?"""
    return (
        f"{heartbeats_prefix(max_heartbeats)}{_example_binders(problem)} : Prop :=\n(\n"
        f"{problem.formal_answer}\n)"
    )


def tactic_probe_command(tactic: str) -> str:
    """A trusted probe: does the pinned Mathlib know ``tactic``? (An unknown tactic is a parse error that
    ``try`` cannot catch; a known one that fails is caught.) ``all_goals``: a tactic that closes ``True`` itself
    (``norm_num``, ``aesop``) leaves no goal, and a bare ``trivial`` would then fail with "no goals"."""
    return f"example : True := by\n  try {tactic}\n  all_goals trivial"


def submission_problems(submission: str) -> list[str]:
    """Why a submission may not be placed in a command (the tactic guard's rules: lexing, brackets,
    command keywords, holes such as ``sorry``); empty when it may."""
    from prover.lean.guard import check_tactic

    if not submission.strip():
        return ["empty submission"]
    return [r.replace("tactic", "submission") for r in check_tactic(submission)]
