"""The searcher seam: ``make_searcher(cfg.search).search(session, generator, theorem, critic) -> SearchResult``.

The base class owns what every algorithm must do identically: start the theorem, run ``attempts``
independent attempts within ONE per-theorem wall clock (``time_limit_s``; the per-tactic timeout is the
backend's), pick a proof script that replays from the root, and report status, stats and the tree.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from prover.config import as_plain_dict
from prover.generation.base import Critic, TacticGenerator
from prover.lean.session import LeanSession
from prover.lean.types import ProofFinished, TacticState, Theorem
from prover.search.graph import SearchGraph, SearchStats
from prover.search.run import Budget, SearchRun

log = logging.getLogger(__name__)

STATUSES = ("proved", "failed", "budget_exhausted", "timeout", "error")
SEARCHERS = ("bfs", "mcts", "mps")


@dataclass
class SearchSettings:
    """Every key of ``configs/search/{bfs,mcts,mps}.yaml``; unknown keys are ignored (other searchers' keys)."""

    name: str = "bfs"
    num_sampled_tactics: int = 8
    max_expansions: int = 100
    attempts: int = 1
    time_limit_s: float = 600.0
    batch_size: int = 1
    length_normalized: bool = False
    # MCTS
    exploration: float = 1.0
    widening_k: float = 2.0
    widening_alpha: float = 0.5
    virtual_loss: float = 1.0
    max_simulations: int | None = None
    # critic: "none" | "heuristic" | a mapping for prover.generation.factory.make_critic
    critic: Any = "none"
    # MPS
    rules: dict[str, bool] = field(default_factory=dict)
    penalty_nats: float = 1.0
    critic_penalty: float = 0.1
    # confirm a proof assembled from de-duplicated states by replaying it from the root
    replay_check: bool = True

    @classmethod
    def from_config(cls, cfg: Any) -> SearchSettings:
        data = as_plain_dict(cfg, "search config")
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        def positive(name: str, value: float) -> None:
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"search.{name} must be a positive number, got {value!r}")

        for key in ("num_sampled_tactics", "max_expansions", "attempts", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"search.{key} must be an integer >= 1, got {value!r}")
        for key in ("time_limit_s", "widening_k", "widening_alpha"):
            positive(key, getattr(self, key))
        if self.exploration < 0 or self.virtual_loss < 0 or self.penalty_nats < 0:
            raise ValueError("search.exploration, search.virtual_loss and search.penalty_nats must be >= 0")
        if self.max_simulations is not None and int(self.max_simulations) < 1:
            raise ValueError(f"search.max_simulations must be >= 1 or null, got {self.max_simulations!r}")
        if not isinstance(self.rules, Mapping):
            raise ValueError(f"search.rules must be a mapping of rule -> true/false, got {self.rules!r}")

    @property
    def budget(self) -> str:
        """ReProver-style budget string N×S×T."""
        return f"{self.attempts}×{self.num_sampled_tactics}×{self.max_expansions}"


@dataclass
class SearchResult:
    """Outcome of searching one theorem. ``proof`` is a tactic script, one tactic per line, from the root."""

    theorem: str
    status: str
    proof: str | None
    stats: SearchStats
    budget: str
    graph: SearchGraph | None = None
    error: str | None = None
    attempts: int = 0

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def to_json(self, include_graph: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "theorem": self.theorem,
            "status": self.status,
            "proof": self.proof,
            "budget": self.budget,
            "attempts": self.attempts,
            "stats": self.stats.to_json(),
        }
        if self.error:
            data["error"] = self.error
        if include_graph and self.graph is not None:
            data["graph"] = self.graph.to_json()
        return data


class Searcher(abc.ABC):
    """Base of every search algorithm; subclasses implement one attempt on a fresh graph."""

    name = "base"

    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings

    def default_critic(self) -> Critic | None:
        spec = self.settings.critic
        if spec in (None, "none", False):
            return None
        if spec == "heuristic":
            from prover.generation.critic import HeuristicCritic

            return HeuristicCritic()
        if isinstance(spec, Mapping):
            from prover.generation.factory import make_critic

            return make_critic(spec)
        raise ValueError(f"search.critic must be none, heuristic or a critic config mapping, got {spec!r}")

    def search(
        self, session: LeanSession, generator: TacticGenerator, theorem: Theorem, critic: Critic | None = None
    ) -> SearchResult:
        """Search for a proof of ``theorem``: at most ``attempts`` attempts within ``time_limit_s``."""
        s = self.settings
        critic = critic if critic is not None else self.default_critic()
        started = time.monotonic()
        deadline = started + s.time_limit_s
        total = SearchStats()
        t0 = time.perf_counter()
        root = session.start(theorem)
        total.lean_time_s += time.perf_counter() - t0
        if not isinstance(root, TacticState):
            total.total_time_s = time.monotonic() - started
            return SearchResult(theorem.name, "error", None, total, s.budget, error=f"start failed: {root!r}")
        statuses: list[str] = []
        graph: SearchGraph | None = None
        proof: str | None = None
        for _attempt in range(s.attempts):
            graph = SearchGraph(theorem)
            graph.add_root(root)
            run = SearchRun(
                session, generator, critic, graph, Budget(s.max_expansions, deadline), s.num_sampled_tactics
            )
            a0 = time.monotonic()
            try:
                status = self._attempt(run)
            except Exception as exc:  # a generator/critic failure ends this theorem, never the whole run
                log.exception("search of %s failed", theorem.name)
                graph.stats.total_time_s = time.monotonic() - a0
                total.merge(graph.stats)
                total.total_time_s = time.monotonic() - started
                return SearchResult(
                    theorem.name,
                    "error",
                    None,
                    total,
                    s.budget,
                    graph,
                    error=f"{type(exc).__name__}: {exc}",
                    attempts=len(statuses) + 1,
                )
            graph.stats.total_time_s = time.monotonic() - a0
            statuses.append(status)
            if graph.is_proved:
                proof = self._proof_script(session, root, graph)
                total.merge(graph.stats)
                if proof is not None:
                    break
                statuses[-1] = "failed"
                continue
            total.merge(graph.stats)
            if status == "timeout":
                break
        total.total_time_s = time.monotonic() - started
        if proof is not None:
            final = "proved"
        elif "timeout" in statuses:
            final = "timeout"
        elif statuses and all(st == "failed" for st in statuses):
            final = "failed"
        else:
            final = "budget_exhausted"
        return SearchResult(theorem.name, final, proof, total, s.budget, graph, attempts=len(statuses))

    @abc.abstractmethod
    def _attempt(self, run: SearchRun) -> str:
        """Search on ``run.graph`` until proved / failed / out of budget; return one of STATUSES."""

    def _proof_script(self, session: LeanSession, root: TacticState, graph: SearchGraph) -> str | None:
        """The shortest proof in the graph if it replays (or was itself observed), else the shortest observed."""
        shortest = graph.shortest_proof()
        observed = sorted(graph.observed_proofs, key=len)
        if shortest is not None and (tuple(shortest) in observed or not self.settings.replay_check):
            return "\n".join(shortest)
        if shortest is not None:
            t0 = time.perf_counter()
            ok = replays(session, root, shortest)
            graph.stats.lean_time_s += time.perf_counter() - t0
            if ok:
                return "\n".join(shortest)
            log.warning(
                "%s: shortest graph proof did not replay; using the proof Lean reported", root.theorem.name
            )
        return "\n".join(observed[0]) if observed else None


def replays(session: LeanSession, root: TacticState, tactics: list[str]) -> bool:
    """Does ``tactics`` run from ``root`` to ``ProofFinished``, one tactic at a time?"""
    state: TacticState = root
    for i, tactic in enumerate(tactics):
        result = session.run_tactic(state, tactic)
        if isinstance(result, ProofFinished):
            return i == len(tactics) - 1
        if not isinstance(result, TacticState):
            return False
        state = result
    return False


def make_searcher(search_cfg: Any) -> Searcher:
    """Build the searcher named by ``search_cfg.name`` (bfs | mcts | mps) from a DictConfig or dict."""
    settings = SearchSettings.from_config(search_cfg)
    if settings.name == "bfs":
        from prover.search.bfs import BestFirstSearch

        return BestFirstSearch(settings)
    if settings.name == "mcts":
        from prover.search.mcts import MonteCarloTreeSearch

        return MonteCarloTreeSearch(settings)
    if settings.name == "mps":
        from prover.search.mps import MultiPerspectiveSearch

        return MultiPerspectiveSearch(settings)
    raise ValueError(f"unknown search {settings.name!r}; choose one of: {', '.join(SEARCHERS)}")
