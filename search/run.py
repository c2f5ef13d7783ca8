"""One search attempt's shared machinery: batched model calls, batched Lean calls, clocks and budgets.

The three algorithms differ only in WHICH nodes they expand and which tactics they try; how a batch of nodes
is sent to the generator (one call) and how all resulting (state, tactic) steps go to Lean (one
``run_tactics`` call, so a pooled backend runs them concurrently) is the same, and so is the accounting of
time spent in Lean, in the model and in the search itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from prover.generation.base import Critic, GenerationRequest, Suggestion, TacticGenerator
from prover.lean.session import LeanSession
from prover.search.errors import SeamViolation
from prover.search.graph import SearchGraph, SearchStats, StepOutcome
from prover.search.status import ProofStatus


@dataclass(frozen=True)
class AttemptBudget:
    """Per-attempt limits: ``max_expansions`` generator expansions and a wall-clock deadline."""

    max_expansions: int
    deadline: float  # time.monotonic() value


class SearchRun:
    """A graph plus the session, generator, critic and budget of one attempt."""

    def __init__(
        self,
        session: LeanSession,
        generator: TacticGenerator,
        critic: Critic | None,
        graph: SearchGraph,
        budget: AttemptBudget,
        num_tactics: int,
    ) -> None:
        self.session = session
        self.generator = generator
        self.critic = critic
        self.graph = graph
        self.budget = budget
        self.num_tactics = num_tactics
        self._critic_cache: dict[int, float] = {}

    def request(self, node: int) -> GenerationRequest:
        """What the generator and critic see of ``node``: its goal list, theorem and tactic path."""
        return GenerationRequest.from_state(self.graph.state(node))

    @property
    def stats(self) -> SearchStats:
        return self.graph.stats

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.budget.deadline

    def stop_status(self) -> ProofStatus | None:
        """Why the attempt must stop now (proved, failed, timeout, budget_exhausted), or None to go on."""
        if self.graph.is_proved:
            return ProofStatus.PROVED
        if self.graph.is_failed:
            return ProofStatus.FAILED
        if self.out_of_time():
            return ProofStatus.TIMEOUT
        if self.expansions_left() <= 0:
            return ProofStatus.BUDGET_EXHAUSTED
        return None

    def exhausted(self) -> ProofStatus:
        """The status of an attempt with nothing left to expand: every reachable state was expanded."""
        return ProofStatus.PROVED if self.graph.is_proved else ProofStatus.FAILED

    def expansions_left(self) -> int:
        return self.budget.max_expansions - self.stats.expansions

    def suggest(self, nodes: Sequence[int]) -> list[list[Suggestion]]:
        """One generator call for all ``nodes``; counts one expansion per node."""
        if not nodes:
            return []
        requests = [self.request(n) for n in nodes]
        t0 = time.perf_counter()
        try:
            suggestions = self.generator.generate(requests, self.num_tactics)
        finally:
            self.stats.model_time_s += time.perf_counter() - t0
        if len(suggestions) != len(nodes):
            raise SeamViolation(f"generator returned {len(suggestions)} lists for {len(nodes)} states")
        self.stats.expansions += len(nodes)
        return [list(s)[: self.num_tactics] for s in suggestions]

    def run(self, steps: Sequence[tuple[int, str, float]]) -> list[StepOutcome]:
        """Run (node, tactic, logprob) steps in ONE ``run_tactics`` call and record them in the graph."""
        if not steps:
            return []
        t0 = time.perf_counter()
        try:
            results = self.session.run_tactics([(self.graph.state(n), t) for n, t, _ in steps])
        finally:
            self.stats.lean_time_s += time.perf_counter() - t0
        if len(results) != len(steps):
            raise SeamViolation(f"Lean session returned {len(results)} results for {len(steps)} steps")
        return [self.graph.add_result(n, t, lp, r) for (n, t, lp), r in zip(steps, results, strict=True)]

    def expand(self, nodes: Sequence[int]) -> list[StepOutcome]:
        """Generate for ``nodes`` (one model call), run every suggestion (one Lean call), mark them expanded."""
        per_node = self.suggest(nodes)
        steps = [(n, s.tactic, s.logprob) for n, sugg in zip(nodes, per_node, strict=True) for s in sugg]
        outcomes = self.run(steps)
        for n in nodes:
            self.graph.mark_expanded(n)
        return outcomes

    def value(self, nodes: Sequence[int]) -> list[float]:
        """Critic values in [0, 1] (cached per node; one batched call for the new ones)."""
        if self.critic is None:
            return [0.5] * len(nodes)
        missing = [n for n in dict.fromkeys(nodes) if n not in self._critic_cache]
        if missing:
            t0 = time.perf_counter()
            try:
                scores = self.critic.score_batch([self.request(n) for n in missing])
            finally:
                self.stats.model_time_s += time.perf_counter() - t0
            for n, v in zip(missing, scores, strict=True):
                self._critic_cache[n] = min(1.0, max(0.0, float(v)))
        return [self._critic_cache[n] for n in nodes]
