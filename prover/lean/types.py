"""Typed values that cross the Lean boundary.

Everything above the Lean layer sees Lean only through these types: goals are plain strings (Lean's
pretty-printed goals), results of a tactic are exactly one of five cases, and proof states are immutable
handles so that a search can branch from any of them at no cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PROOF_TAIL = re.compile(r":=\s*(by\s*(sorry)?\s*)?$", re.DOTALL)


@dataclass(frozen=True)
class Theorem:
    """A theorem to prove: its declaration without a proof, and the header it lives under.

    ``statement`` is the declaration up to (not including) ``:=``, e.g.
    ``theorem foo (n : ℕ) : n + 0 = n``. ``header`` holds imports, options and ``open`` lines.
    """

    name: str
    statement: str
    header: str = "import Mathlib\n"
    source: str = ""
    #: the problem in words where the benchmark has it (PutnamBench's docstring); some prompts show it
    informal: str = field(default="", compare=False)

    @classmethod
    def from_formal_statement(
        cls, name: str, formal_statement: str, header: str = "import Mathlib\n", source: str = ""
    ) -> Theorem:
        """Build from a benchmark's ``formal_statement`` (which ends ``:= by sorry`` or ``:= by``)."""
        text = formal_statement.rstrip()
        stripped = _PROOF_TAIL.sub("", text).rstrip()
        if stripped == text:
            raise ValueError(f"{name}: formal statement does not end with ':=', ':= by' or ':= by sorry'")
        if not stripped:
            raise ValueError(f"{name}: empty statement")
        return cls(name=name, statement=stripped, header=header, source=source)

    def with_proof(self, proof: str) -> str:
        """The full declaration with ``proof`` (a tactic script, without the leading ``by``)."""
        body = "\n".join("  " + line if line.strip() else line for line in proof.strip("\n").splitlines())
        return f"{self.statement} := by\n{body}"


@dataclass(frozen=True)
class TacticState:
    """An open proof state: the goals as Lean prints them, and a handle the backend understands.

    ``path`` is the tactic script from the theorem's root state to this one; backends use it to rebuild
    a state after a REPL restart, and search uses it to extract proofs. ``handle`` is backend-private
    (a REPL ``proofState`` number, a LeanDojo state, ...): nothing outside the backend may interpret it.
    """

    goals: tuple[str, ...]
    theorem: Theorem
    path: tuple[str, ...] = ()
    handle: object = field(default=None, compare=False, hash=False, repr=False)

    @property
    def pp(self) -> str:
        """The goals as one text, separated by blank lines, as LeanDojo prints them."""
        return "\n\n".join(self.goals)

    @property
    def key(self) -> str:
        """Identity of the state for de-duplication: its goals' text."""
        return self.pp


def split_goals(pp: str) -> tuple[str, ...]:
    """The inverse of :attr:`TacticState.pp`: goals of a pretty-printed state separated by blank lines.

    For text that arrives without a goal list (a user's ``--state``, an editor request); states from a
    session already carry ``goals``.
    """
    return tuple(g.strip("\n") for g in re.split(r"\n[ \t]*\n", pp.strip("\n")) if g.strip())


@dataclass(frozen=True)
class ProofFinished:
    """No goals left and no error: the path from the root is a proof (subject to verification)."""

    theorem: Theorem
    path: tuple[str, ...]
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class TacticError:
    """Lean rejected the tactic (or the guard did, before Lean saw it)."""

    messages: tuple[str, ...]
    rejected_by_guard: bool = False


@dataclass(frozen=True)
class Timeout:
    """The tactic did not finish within the per-tactic limit; the backend has recovered."""

    seconds: float


@dataclass(frozen=True)
class Crash:
    """The Lean process died or answered garbage; the backend has restarted it."""

    reason: str


TacticResult = TacticState | ProofFinished | TacticError | Timeout | Crash
StartResult = TacticState | TacticError | Timeout | Crash


@dataclass(frozen=True)
class LeanDiagnostic:
    """One Lean error of a compiled proof, by position in the compiled declaration (lines from 1, columns from 0,
    as the REPL reports them): what error-feedback repair turns show the model (``<error>`` marks)."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str
    #: the goal before the error position, where the backend knows it (Kimina's error-fix turn shows it)
    goal_before: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "text": self.text,
            "goal_before": self.goal_before,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LeanDiagnostic:
        return cls(
            int(data["line"]),  # type: ignore[arg-type, call-overload]
            int(data["column"]),  # type: ignore[arg-type, call-overload]
            int(data["end_line"]),  # type: ignore[arg-type, call-overload]
            int(data["end_column"]),  # type: ignore[arg-type, call-overload]
            str(data["text"]),
            data.get("goal_before") if isinstance(data.get("goal_before"), str) else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Verdict:
    """Outcome of whole-proof verification: accepted only when every check passed."""

    accepted: bool
    reasons: tuple[str, ...] = ()
    #: The check that rejected the proof: ``guard``, ``compile``, ``statement`` or ``axioms`` ("" if accepted).
    check: str = ""
    #: ``compile`` rejections: Lean's errors by position in ``compiled`` (hints for repair turns, never a verdict)
    diagnostics: tuple[LeanDiagnostic, ...] = field(default=(), compare=False)
    #: the declaration as Lean compiled it (the statement with the proof), which ``diagnostics`` positions index
    compiled: str = field(default="", compare=False)
    #: Who decided (``prover.lean.judge``): ``comparator``, ``repl`` or ``simulation``; "" for a session's own
    #: verification during search, which is a hint and never counts as "proved" on its own.
    judge: str = ""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"accepted": self.accepted, "reasons": list(self.reasons)}
        if self.check:
            out["check"] = self.check
        if self.judge:
            out["judge"] = self.judge
        return out
