"""Typed settings of every ``search`` config: the one place their defaults are written.

One model per searcher name (``configs/search/<name>.yaml`` mirrors it; a test compares every file with
its model), on a shared base, so a key that belongs to another searcher or a typo such as
``search.max_expantions`` is an error naming the known keys instead of being silently dropped. The budget
string of a run (N×S×T) is a property of these models and of nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from prover.search.errors import SearchConfigError
from prover.settings import Settings, load_one_of

#: MPS rules (``search.rules``): every one is on unless switched off.
DEFAULT_RULES: dict[str, bool] = {
    "fewer_goals": True,
    "shorter_state": True,
    "penalize_no_progress": True,
    "penalize_repeated_tactic": True,
}

#: ``search.critic``: ``none``, ``heuristic``, or a critic config mapping for ``make_critic``.
CriticSpec = Literal["none", "heuristic"] | dict[str, Any]


class SearchSettings(Settings):
    """Keys every searcher accepts: attempts within one per-theorem wall clock."""

    #: recorded with every result: ``search`` (a tree search) or ``whole_proof`` (sampling)
    mode: ClassVar[str] = "search"

    name: str
    #: N: independent attempts (tree search) or sampling rounds (whole proof)
    attempts: PositiveInt = 1
    #: per-theorem wall clock over all attempts (the per-tactic timeout is the backend's)
    time_limit_s: PositiveFloat = 600.0

    @property
    def budget(self) -> str:
        """ReProver-style budget string N×S×T of this searcher."""
        raise NotImplementedError


class TreeSearchSettings(SearchSettings):
    """Keys of the searchers that grow a :class:`~prover.search.graph.SearchGraph` (bfs, mcts, mps)."""

    #: S: tactics per expansion
    num_sampled_tactics: PositiveInt = 8
    #: T: expansions (generator calls per state) per attempt
    max_expansions: PositiveInt = 100
    #: frontier states expanded together (one generator call, one ``run_tactics`` call)
    batch_size: PositiveInt = 1
    #: a proof assembled across de-duplicated states is replayed once from the root before it is returned
    replay_check: bool = True

    @property
    def budget(self) -> str:
        return f"{self.attempts}×{self.num_sampled_tactics}×{self.max_expansions}"


class ValuedSearchSettings(TreeSearchSettings):
    """Tree searchers that also ask a critic for the value of a state (mcts, mps)."""

    critic: CriticSpec = "heuristic"

    @field_validator("critic", mode="before")
    @classmethod
    def _critic(cls, value: Any) -> Any:
        if value is None or value is False:
            return "none"
        if isinstance(value, Mapping):
            return dict(value)
        if value not in ("none", "heuristic"):
            raise ValueError("must be none, heuristic or a critic config mapping")
        return value


class BfsSettings(TreeSearchSettings):
    """Best-first search (ReProver); ``length_normalized``: BFS-Prover's priority (log-probability / depth)."""

    name: Literal["bfs"] = "bfs"
    length_normalized: bool = False


class MctsSettings(ValuedSearchSettings):
    """Monte-Carlo tree search with PUCT and progressive widening (``ceil(k * visits^alpha)`` children)."""

    name: Literal["mcts"] = "mcts"
    #: c_puct
    exploration: NonNegativeFloat = 1.0
    widening_k: PositiveFloat = 2.0
    widening_alpha: PositiveFloat = 0.5
    virtual_loss: NonNegativeFloat = 1.0
    #: simulation cap (None: 2 * S * T + 1); expansions stay the main budget
    max_simulations: PositiveInt | None = None


class MpsSettings(ValuedSearchSettings):
    """Multi-perspective search (after MPS-Prover): the rules switch perspectives and penalties on or off."""

    name: Literal["mps"] = "mps"
    rules: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    #: generator perspective: log-probability subtracted per penalty point
    penalty_nats: NonNegativeFloat = 1.0
    #: critic perspective: value subtracted per penalty point
    critic_penalty: float = 0.1

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        """A partial mapping switches some rules; the rest keep their default (on)."""
        if value is None:
            return dict(DEFAULT_RULES)
        if not isinstance(value, Mapping):
            raise ValueError("must be a mapping of rule -> true/false")
        unknown = sorted(set(value) - set(DEFAULT_RULES))
        if unknown:
            raise ValueError(f"unknown search.rules {unknown}; known: {', '.join(DEFAULT_RULES)}")
        return {**DEFAULT_RULES, **dict(value)}


class WholeProofSettings(SearchSettings):
    """Whole-proof sampling (DeepSeek-Prover style): ``num_samples`` proofs per attempt, each verified, then
    ``repair_rounds`` rounds in which failed samples' Lean errors become the model's next turn (Goedel-Prover-V2's
    self-correction: 8 initial samples, 2 rounds). Budgets count samples, tokens and Lean seconds."""

    mode: ClassVar[str] = "whole_proof"

    name: Literal["whole_proof"] = "whole_proof"
    #: samples drawn from the opening prompt in each attempt
    num_samples: PositiveInt = 32
    #: rounds after the first in which failed samples are repaired from their Lean errors (0: no repair)
    repair_rounds: NonNegativeInt = 0
    #: answers drawn per repair round, spread over the previous round's failed samples (one each, in order)
    samples_per_round: PositiveInt = 8
    #: budgets over all attempts and rounds (null: unbounded): samples drawn, tokens used, seconds in Lean
    max_samples: PositiveInt | None = None
    max_tokens: PositiveInt | None = None
    max_lean_s: PositiveFloat | None = None
    #: where every drawn and judged sample is journaled (set by the run directory: a killed run resumes per sample)
    journal_dir: str | None = None

    @property
    def budget(self) -> str:
        if self.repair_rounds:
            return f"{self.attempts}×({self.num_samples}+{self.repair_rounds}×{self.samples_per_round})×1"
        return f"{self.attempts}×{self.num_samples}×1"


#: Every searcher name and its settings model (``make_searcher`` maps the same names to algorithms).
SEARCH_SETTINGS: dict[str, type[SearchSettings]] = {
    "bfs": BfsSettings,
    "mcts": MctsSettings,
    "mps": MpsSettings,
    "whole_proof": WholeProofSettings,
}


def search_settings(cfg: Any) -> SearchSettings:
    """The typed settings of a ``cfg.search`` node or dict, chosen by its ``name`` (a discriminated union).

    Raises :class:`SearchConfigError` (a ``ConfigError``, also a ``ValueError``) naming the bad key.
    """
    return load_one_of(SEARCH_SETTINGS, cfg, "search", error=SearchConfigError)
