"""The generator and critic seams: what search (and the editor companion) call to get tactics and values.

Both seams take :class:`GenerationRequest` objects: a state's goals as a list (never re-split from text),
plus the context a model or retriever may need (theorem name and statement, header, file position, the
tactics so far, the accessible premises). Models differ in what they read: prompt templates print the
name and the proof so far, retrieval augmentation filters premises by accessibility, kNN looks at the first
goal only. Passing everything in one typed value keeps that choice inside each generator, and keeps the
seams independent of any Lean backend (a request is built from a ``TacticState`` or from plain goal text).

Generators are batched: one call takes many requests and returns, for each, up to ``k`` distinct tactics
with real log-probabilities (higher is better), best first. Critics score a state's closeness to
"no goals" in [0, 1].
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prover.lean.types import split_goals

if TYPE_CHECKING:
    from prover.lean.types import TacticState, Theorem


@dataclass(frozen=True, order=True)
class Suggestion:
    """One proposed tactic with its log-probability under the generator (<= 0 for true probabilities)."""

    logprob: float
    tactic: str

    def to_json(self) -> dict[str, object]:
        return {"tactic": self.tactic, "logprob": self.logprob}


@dataclass(frozen=True)
class GenerationRequest:
    """One proof state to generate for (or score), with the context it lives in.

    ``goals`` are Lean's pretty-printed goals, the one the next tactic acts on first. Every context field is
    optional: unknown values stay empty and consumers fall back (a prompt leaves the name blank, retrieval
    searches unfiltered). ``accessible`` is an explicit set of premise names the theorem may use; when it is
    ``None``, retrieval may derive one from ``file_path``/``position`` or the ``header``'s imports.
    """

    goals: tuple[str, ...]
    theorem_name: str = ""
    statement: str = ""
    header: str = ""
    path: tuple[str, ...] = ()
    file_path: str | None = None
    #: (line, column) of the theorem in ``file_path``, as the premise corpus counts them.
    position: tuple[int, int] | None = None
    accessible: frozenset[str] | None = None
    #: the problem in words, where the benchmark has it (``Theorem.informal``); some prompts show it
    informal: str = ""

    def __post_init__(self) -> None:
        # Accept lists/sets from callers but store immutable values, so requests stay hashable and shareable.
        if isinstance(self.goals, str):
            raise TypeError(
                "GenerationRequest.goals is a list of goals; use GenerationRequest.from_text(text)"
            )
        object.__setattr__(self, "goals", tuple(self.goals))
        object.__setattr__(self, "path", tuple(self.path))
        if self.accessible is not None and not isinstance(self.accessible, frozenset):
            object.__setattr__(self, "accessible", frozenset(self.accessible))
        if self.position is not None:
            object.__setattr__(self, "position", tuple(self.position))

    @classmethod
    def from_state(
        cls,
        state: TacticState,
        *,
        accessible: Collection[str] | None = None,
        file_path: str | None = None,
        position: tuple[int, int] | None = None,
    ) -> GenerationRequest:
        """The request for a session's state: its goal list, its theorem and the tactic path from the root."""
        return cls.for_theorem(
            state.theorem,
            state.goals,
            path=state.path,
            accessible=accessible,
            file_path=file_path,
            position=position,
        )

    @classmethod
    def for_theorem(
        cls,
        theorem: Theorem,
        goals: Sequence[str],
        *,
        path: Sequence[str] = (),
        accessible: Collection[str] | None = None,
        file_path: str | None = None,
        position: tuple[int, int] | None = None,
    ) -> GenerationRequest:
        return cls(
            goals=tuple(goals),
            theorem_name=theorem.name,
            statement=theorem.statement,
            header=theorem.header,
            path=tuple(path),
            file_path=file_path,
            position=position,
            accessible=frozenset(accessible) if accessible is not None else None,
            informal=theorem.informal,
        )

    @classmethod
    def from_text(cls, text: str, **context: object) -> GenerationRequest:
        """For plain goal text (``prover suggest --state``, editor servers): goals split at blank lines."""
        if not isinstance(text, str):
            raise TypeError(f"from_text takes the goals as text, got {type(text).__name__}")
        return cls(goals=split_goals(text), **context)  # type: ignore[arg-type]

    @property
    def text(self) -> str:
        """The goals as one text, blank-line separated (what text-only models read; ``TacticState.pp``)."""
        return "\n\n".join(self.goals)

    @property
    def first_goal(self) -> str:
        """The goal the next tactic acts on ('' for a request without goals)."""
        return self.goals[0] if self.goals else ""

    @property
    def proof_before(self) -> str:
        """The tactics from the root to this state, one per line."""
        return "\n".join(self.path)


def requests_from_texts(texts: Sequence[str]) -> list[GenerationRequest]:
    """Plain goal texts -> requests without context (tests, benchmarks, CLI)."""
    if isinstance(texts, str):
        raise TypeError("requests_from_texts takes a list of texts, not one string")
    return [GenerationRequest.from_text(t) for t in texts]


class TacticGenerator(abc.ABC):
    """Proposes tactics for proof states."""

    @abc.abstractmethod
    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        """For each request, up to ``k`` de-duplicated suggestions sorted by decreasing log-probability."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models / processes."""


class Critic(abc.ABC):
    """Estimates how close a state is to being proved: 1.0 = surely provable soon, 0.0 = hopeless."""

    @abc.abstractmethod
    def score(self, request: GenerationRequest) -> float: ...

    def score_batch(self, requests: Sequence[GenerationRequest]) -> list[float]:
        return [self.score(r) for r in requests]


def dedupe_best(suggestions: Sequence[Suggestion], k: int) -> list[Suggestion]:
    """Keep the best-scored copy of each tactic (whitespace-normalised), best first, at most ``k``."""
    best: dict[str, Suggestion] = {}
    for s in suggestions:
        tactic = s.tactic.strip()
        if not tactic:
            continue
        key = " ".join(tactic.split())
        if key not in best or s.logprob > best[key].logprob:
            best[key] = Suggestion(s.logprob, tactic)
    return sorted(best.values(), key=lambda s: -s.logprob)[:k]
