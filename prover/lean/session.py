"""The one interface every consumer of Lean uses: :class:`LeanSession`.

Search, formal problem solving, synthesis and the editor companion all talk to Lean through this
class and nothing else. Backends (REPL, LeanDojo, scripted worlds, ...) subclass it and implement the
three ``_``-prefixed hooks; the public methods add what every backend must do identically — above all,
no tactic reaches Lean without passing the static soundness guard first.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol

from prover.lean.types import StartResult, TacticError, TacticResult, TacticState, Theorem, Verdict


class GuardCallable(Protocol):
    """The reasons a tactic is refused (empty: allowed); a protocol, so an instance attribute holding one is
    never taken for a method by the type checker (``prover.lean.guard.TacticGuard`` is one)."""

    def __call__(self, tactic: str, /) -> list[str]: ...


class LeanSession(abc.ABC):
    """A connection to Lean that starts theorems, runs tactics on states and verifies whole proofs."""

    #: A callable ``str -> list[str]`` returning the reasons a tactic is refused (empty: allowed).
    #: Set by the backend's constructor from the guard configuration; see ``prover.lean.guard``.
    tactic_guard: GuardCallable | None = None

    # --- public API -------------------------------------------------------------------------------
    def start(self, theorem: Theorem) -> StartResult:
        """Elaborate ``theorem`` (with a ``sorry`` proof) and return its root state.

        The statement passes the guard first (``prover.lean.guard.check_statement``; a model-written one, by its
        ``source``, must have a plain ``theorem``/``lemma`` head and no ``by`` block): elaborating it runs it."""
        refused = self._statement_refusals(theorem)
        if refused:
            return TacticError(tuple(refused), rejected_by_guard=True)
        return self._start(theorem)

    def run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        """Run one tactic on ``state``. Never raises for Lean-side failures: they are results."""
        _check_step(state, tactic)
        refused = self._refusals(tactic)
        if refused:
            return TacticError(tuple(refused), rejected_by_guard=True)
        return self._run_tactic(state, tactic)

    def run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        """Run many (state, tactic) steps; pooled backends run them concurrently, in input order."""
        results: list[TacticResult | None] = [None] * len(steps)
        allowed: list[int] = []
        for step in steps:
            if not isinstance(step, tuple | list) or len(step) != 2:
                raise TypeError(f"run_tactics takes (TacticState, tactic) pairs, got {_describe_value(step)}")
            _check_step(*step)
        for i, (_, tactic) in enumerate(steps):
            refused = self._refusals(tactic)
            if refused:
                results[i] = TacticError(tuple(refused), rejected_by_guard=True)
            else:
                allowed.append(i)
        for i, res in zip(allowed, self._run_tactics([steps[i] for i in allowed]), strict=True):
            results[i] = res
        return [r for r in results if r is not None]

    def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """Check that ``proof`` (a tactic script) proves exactly ``theorem`` in plain Lean + Mathlib.

        The statement and the proof pass the guard here, before any backend sees them (backends check again)."""
        from prover.lean.guard import check_proof

        refused = self._statement_refusals(theorem) or check_proof(theorem, proof, self._gate_options())
        if refused:
            return Verdict(False, tuple(refused), "guard")
        return self._verify(theorem, proof)

    def describe(self) -> dict[str, Any]:
        """What actually runs behind this session, for run records and reports: ``backend``, ``lean``, ...

        Backends override it (the REPL asks Lean, a scripted world names its file); the default admits it
        does not know rather than repeating the pinned ``lean-toolchain``.
        """
        return {"backend": type(self).__name__, "lean": "unknown", "mathlib": "unknown"}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release processes and files."""

    def __enter__(self) -> LeanSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- backend hooks ----------------------------------------------------------------------------
    @abc.abstractmethod
    def _start(self, theorem: Theorem) -> StartResult: ...

    @abc.abstractmethod
    def _run_tactic(self, state: TacticState, tactic: str) -> TacticResult: ...

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        """Default: one after another. Pooled backends override to run concurrently."""
        return [self._run_tactic(s, t) for s, t in steps]

    @abc.abstractmethod
    def _verify(self, theorem: Theorem, proof: str) -> Verdict: ...

    # --- helpers ----------------------------------------------------------------------------------
    def _gate_options(self) -> Any:
        """The backend's ``guard:`` options (an attribute or, for the REPL, a method), else its tactic guard's."""
        from prover.lean.guard import GuardOptions

        options = getattr(self, "guard_options", None)
        if callable(options):
            options = options()
        if isinstance(options, GuardOptions):
            return options
        options = getattr(self.tactic_guard, "options", None)
        return options if isinstance(options, GuardOptions) else GuardOptions()

    def _statement_refusals(self, theorem: Theorem) -> list[str]:
        from prover.lean.guard import MODEL_WRITTEN_SOURCES, check_statement

        model_written = theorem.source in MODEL_WRITTEN_SOURCES
        result = check_statement(theorem.statement, self._gate_options(), model_written=model_written)
        return [f"statement refused: {r}" for r in result.reasons]

    def _refusals(self, tactic: str) -> list[str]:
        if not tactic.strip():
            return ["empty tactic"]
        guard = self.tactic_guard
        if guard is None:
            from prover.lean.guard import default_tactic_guard

            guard = default_tactic_guard()
            self.tactic_guard = guard
        return list(guard(tactic))


def _describe_value(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:120]}{'...' if len(text) > 120 else ''}"


def _check_step(state: object, tactic: object) -> None:
    """Reject a non-state early: ``start`` returns ``TacticError``/``Timeout``/``Crash`` values, not exceptions,
    and passing one on would otherwise fail deep inside a backend with an unrelated ``AttributeError``."""
    if not isinstance(state, TacticState):
        hint = (
            " (start() failed: check its result with isinstance(root, TacticState))"
            if not isinstance(state, str)
            else ""
        )
        raise TypeError(f"expected a TacticState, got {_describe_value(state)}{hint}")
    if not isinstance(tactic, str):
        raise TypeError(f"expected the tactic as a str, got {_describe_value(tactic)}")


#: A trusted command of ours (never model text): sent with ``run_command``, not through the tactic guard.
LEAN_VERSION_COMMAND = "#eval Lean.versionString"


def lean_version_from(response: Any) -> str:
    """Lean's answer to :data:`LEAN_VERSION_COMMAND` (an info message ``"4.24.0"``), or ``"unknown"``."""
    if getattr(response, "message", None) or any(m.is_error for m in getattr(response, "messages", ())):
        return "unknown"
    for message in getattr(response, "messages", ()):
        text = message.data.strip().strip('"').strip()
        if message.severity == "info" and text and len(text) < 80 and text[0].isdigit():
            return text
    return "unknown"
