"""The searcher seam: ``make_searcher(cfg.search).search(session, generator, theorem, critic) -> SearchResult``.

:class:`Searcher` is what every search mode offers the evaluation (one path from searcher to record:
tree search and whole-proof sampling alike). :class:`TreeSearcher` owns what every tree-search algorithm
must do identically: start the theorem, run ``attempts`` independent attempts within ONE per-theorem wall
clock (``time_limit_s``; the per-tactic timeout is the backend's), pick a proof script that replays from
the root, and report status, stats and the tree. ``make_searcher`` lives in :mod:`prover.search.factory`.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prover.generation.base import Critic, TacticGenerator
from prover.lean.session import LeanSession
from prover.lean.types import ProofFinished, TacticState, Theorem, Verdict
from prover.search.errors import SearchConfigError
from prover.search.graph import SearchGraph, SearchStats
from prover.search.run import AttemptBudget, SearchRun
from prover.search.settings import SearchSettings, TreeSearchSettings
from prover.search.status import ProofStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleCounts:
    """Whole-proof sampling of one theorem: ``n`` samples checked, ``c`` of them correct (pass@k's n, c)."""

    n: int
    c: int
    requested: int = 0
    distinct: int = 0
    #: why rejected samples were rejected (distinct reasons, sorted, at most 20)
    rejection_reasons: tuple[str, ...] = ()
    #: 1-based position of the first correct sample in judging order (None: none correct): the coverage curve
    first_correct: int | None = None
    #: samples that answered a repair turn (included in ``n``), and the rounds run (first round included)
    repaired: int = 0
    rounds: int = 0
    #: tokens the model server reported for this theorem (0: a local model, or a server that reports none)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejection_reasons"] = list(self.rejection_reasons)
        return data


@dataclass
class SearchResult:
    """Outcome of searching one theorem. ``proof`` is a tactic script, one tactic per line, from the root.

    ``verdict`` is set when the searcher itself ran ``session.verify`` (whole-proof sampling must: it has
    no other way to check a sample): the verdict of ``proof`` when proved, else why the candidates were
    rejected. The caller then need not verify ``proof`` twice.
    """

    theorem: str
    status: ProofStatus
    proof: str | None
    stats: SearchStats
    budget: str
    graph: SearchGraph | None = None
    error: str | None = None
    attempts: int = 0
    samples: SampleCounts | None = None
    verdict: Verdict | None = None

    @property
    def proved(self) -> bool:
        return self.status is ProofStatus.PROVED

    def to_json(self, include_graph: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "theorem": self.theorem,
            "status": self.status.value,
            "proof": self.proof,
            "budget": self.budget,
            "attempts": self.attempts,
            "stats": self.stats.to_json(),
        }
        if self.error:
            data["error"] = self.error
        if self.samples is not None:
            data["samples"] = self.samples.to_json()
        if self.verdict is not None:
            data["verification"] = self.verdict.to_json()
        if include_graph and self.graph is not None:
            data["graph"] = self.graph.to_json()
        return data


class Searcher(abc.ABC):
    """What every search mode offers: ``search(session, generator, theorem, critic) -> SearchResult``."""

    name: ClassVar[str] = "base"

    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings
        self._critic: Critic | None = None
        self._critic_built = False

    @property
    def budget(self) -> str:
        return self.settings.budget

    @property
    def mode(self) -> str:
        """``search`` (a tree search) or ``whole_proof`` (sampling), as recorded with every result."""
        return self.settings.mode

    def default_critic(self) -> Critic | None:
        """The critic named by ``search.critic`` (none for searchers without that key), built once."""
        if not self._critic_built:
            self._critic = self._build_critic()
            self._critic_built = True
        return self._critic

    def _build_critic(self) -> Critic | None:
        spec = getattr(self.settings, "critic", "none")
        if spec in (None, "none", False):
            return None
        if spec == "heuristic":
            from prover.generation.critic import HeuristicCritic

            return HeuristicCritic()
        if isinstance(spec, Mapping):
            from prover.generation.factory import make_critic

            return make_critic(spec)
        raise SearchConfigError(
            f"search.critic must be none, heuristic or a critic config mapping, got {spec!r}"
        )

    @abc.abstractmethod
    def search(
        self, session: LeanSession, generator: TacticGenerator, theorem: Theorem, critic: Critic | None = None
    ) -> SearchResult:
        """Search for a proof of ``theorem`` within the settings' budget.

        A generator or critic failure ends this theorem as an ``error`` result; an exception that escapes
        (a broken session) is the caller's to record as this theorem's error.
        """


class TreeSearcher(Searcher):
    """Base of the tree-search algorithms; subclasses implement one attempt on a fresh graph."""

    settings: TreeSearchSettings

    def __init__(self, settings: TreeSearchSettings) -> None:
        super().__init__(settings)

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
            return SearchResult(
                theorem.name, ProofStatus.ERROR, None, total, s.budget, error=f"start failed: {root!r}"
            )
        statuses: list[ProofStatus] = []
        graph: SearchGraph | None = None
        proof: str | None = None
        for _attempt in range(s.attempts):
            graph = SearchGraph(theorem)
            graph.add_root(root)
            run = SearchRun(
                session,
                generator,
                critic,
                graph,
                AttemptBudget(s.max_expansions, deadline),
                s.num_sampled_tactics,
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
                    ProofStatus.ERROR,
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
                statuses[-1] = ProofStatus.FAILED
                continue
            total.merge(graph.stats)
            if status is ProofStatus.TIMEOUT:
                break
        total.total_time_s = time.monotonic() - started
        if proof is not None:
            final = ProofStatus.PROVED
        elif ProofStatus.TIMEOUT in statuses:
            final = ProofStatus.TIMEOUT
        elif statuses and all(st is ProofStatus.FAILED for st in statuses):
            final = ProofStatus.FAILED
        else:
            final = ProofStatus.BUDGET_EXHAUSTED
        return SearchResult(theorem.name, final, proof, total, s.budget, graph, attempts=len(statuses))

    @abc.abstractmethod
    def _attempt(self, run: SearchRun) -> ProofStatus:
        """Search on ``run.graph`` until proved / failed / out of budget; return how it stopped."""

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
