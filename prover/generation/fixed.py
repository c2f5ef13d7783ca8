"""The fixed generator: the same scored tactic list for every state (like ReProver's FixedTacticGenerator).

Useful for tests and scripted worlds, and as an "automation only" baseline: search behaviour can be
studied with the model taken out of the picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from prover.generation.base import Suggestion, TacticGenerator, dedupe_best


class FixedTacticGenerator(TacticGenerator):
    """Returns the best ``k`` of a fixed ``[(tactic, logprob)]`` list for every state."""

    def __init__(self, tactics: Sequence[tuple[str, float]]) -> None:
        suggestions = []
        for item in tactics:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise ValueError(f"fixed generator: expected (tactic, logprob) pairs, got {item!r}")
            tactic, logprob = item
            if not isinstance(tactic, str) or not tactic.strip():
                raise ValueError(f"fixed generator: tactic must be a non-empty string, got {tactic!r}")
            try:
                score = float(logprob)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"fixed generator: logprob of {tactic!r} is not a number: {logprob!r}"
                ) from exc
            if math.isnan(score):
                raise ValueError(f"fixed generator: logprob of {tactic!r} is NaN")
            suggestions.append(Suggestion(score, tactic))
        if not suggestions:
            raise ValueError("fixed generator: the tactic list is empty")
        self.suggestions = dedupe_best(suggestions, len(suggestions))

    @classmethod
    def from_config(cls, cfg: Any) -> FixedTacticGenerator:
        """From ``configs/generator/fixed.yaml``: ``tactics: [{tactic: ..., logprob: ...}]``."""
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            cfg = OmegaConf.to_container(cfg, resolve=True)
        items = cfg.get("tactics") if isinstance(cfg, Mapping) else None
        if not isinstance(items, list):
            raise ValueError("generator=fixed needs generator.tactics: a list of {tactic, logprob}")
        pairs = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or "tactic" not in item:
                raise ValueError(f"generator.tactics[{i}] must be a mapping with 'tactic' (and 'logprob')")
            pairs.append((item["tactic"], item.get("logprob", 0.0)))
        return cls(pairs)

    def generate(self, states: Sequence[str], k: int) -> list[list[Suggestion]]:
        if isinstance(states, str):
            raise TypeError("generate() takes a list of states, not one string")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return [list(self.suggestions[:k]) for _ in states]
