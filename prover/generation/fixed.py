"""The fixed generator: the same scored tactic list for every state (like ReProver's FixedTacticGenerator).

Useful for tests and scripted worlds, and as an "automation only" baseline: search behaviour can be
studied with the model taken out of the picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.inputs import check_k, check_requests
from prover.generation.settings import GeneratorConfigError


class FixedTacticGenerator(TacticGenerator):
    """Returns the best ``k`` of a fixed ``[(tactic, logprob)]`` list for every state."""

    def __init__(self, tactics: Sequence[tuple[str, float]]) -> None:
        suggestions = []
        for item in tactics:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise GeneratorConfigError(f"fixed generator: expected (tactic, logprob) pairs, got {item!r}")
            tactic, logprob = item
            if not isinstance(tactic, str) or not tactic.strip():
                raise GeneratorConfigError(
                    f"fixed generator: tactic must be a non-empty string, got {tactic!r}"
                )
            try:
                score = float(logprob)
            except (TypeError, ValueError) as exc:
                raise GeneratorConfigError(
                    f"fixed generator: logprob of {tactic!r} is not a number: {logprob!r}"
                ) from exc
            if math.isnan(score):
                raise GeneratorConfigError(f"fixed generator: logprob of {tactic!r} is NaN")
            suggestions.append(Suggestion(score, tactic))
        if not suggestions:
            raise GeneratorConfigError("fixed generator: the tactic list is empty")
        self.suggestions = dedupe_best(suggestions, len(suggestions))

    @classmethod
    def from_config(cls, cfg: Any) -> FixedTacticGenerator:
        """From ``configs/generator/fixed.yaml``: ``tactics: [{tactic: ..., logprob: ...}]``."""
        from prover.config import as_plain_dict
        from prover.generation.settings import FixedSettings, load

        data = as_plain_dict(cfg, "generator config")
        data.setdefault("name", "fixed")
        settings = load(FixedSettings, data, "generator")
        return cls([(t.tactic, t.logprob) for t in settings.tactics])

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        requests = check_requests(requests)
        check_k(k)
        return [list(self.suggestions[:k]) for _ in requests]
