"""The heuristic critic: a value in [0, 1] from the number of open goals and the size of the state.

It needs no model, so MCTS and multi-perspective search have a value signal out of the box. Fewer goals and
shorter goal text mean "closer to done": each extra goal halves the value and the text length discounts it
smoothly (``scale`` characters halve it). An empty state (no goals) is worth 1.
"""

from __future__ import annotations

from prover.generation.base import Critic


def count_goals(state: str) -> int:
    """Goals in Lean's pretty-printed state: one ``⊢`` line each (at least 1 for non-empty text)."""
    if not state.strip():
        return 0
    return max(1, sum(1 for line in state.splitlines() if line.lstrip().startswith("⊢")))


class HeuristicCritic(Critic):
    """``value = goal_decay^(goals - 1) * scale / (scale + chars)``; 1.0 for a state with no goals."""

    def __init__(self, goal_decay: float = 0.5, scale: float = 400.0) -> None:
        if not 0 < goal_decay <= 1 or scale <= 0:
            raise ValueError("HeuristicCritic needs 0 < goal_decay <= 1 and scale > 0")
        self.goal_decay = goal_decay
        self.scale = scale

    def score(self, state: str) -> float:
        goals = count_goals(state)
        if goals == 0:
            return 1.0
        return self.goal_decay ** (goals - 1) * self.scale / (self.scale + len(state))
