"""The generator and critic seams: what search (and the editor companion) call to get tactics and values.

Generators are batched: one call takes many proof states and returns, for each, up to ``k`` distinct
tactics with real log-probabilities (higher is better), best first. Critics score a state's closeness to
"no goals" in [0, 1]. States are passed as Lean's pretty-printed goal text (``TacticState.pp``), so
these seams never depend on a Lean backend.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Suggestion:
    """One proposed tactic with its log-probability under the generator (<= 0 for true probabilities)."""

    logprob: float
    tactic: str

    def to_json(self) -> dict[str, object]:
        return {"tactic": self.tactic, "logprob": self.logprob}


class TacticGenerator(abc.ABC):
    """Proposes tactics for proof states."""

    @abc.abstractmethod
    def generate(self, states: Sequence[str], k: int) -> list[list[Suggestion]]:
        """For each state, up to ``k`` de-duplicated suggestions sorted by decreasing log-probability."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models / processes."""


class Critic(abc.ABC):
    """Estimates how close a state is to being proved: 1.0 = surely provable soon, 0.0 = hopeless."""

    @abc.abstractmethod
    def score(self, state: str) -> float: ...

    def score_batch(self, states: Sequence[str]) -> list[float]:
        return [self.score(s) for s in states]


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
