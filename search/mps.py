"""Multi-perspective search (after MPS-Prover): several rankings of one frontier, taken in turn.

A single score mixes signals of different scales badly and lets one signal's blind spot starve the search;
MPS-Prover instead lets each perspective nominate states. Here every perspective keeps its own priority
queue over the same frontier of unexpanded states, and the batch to expand is filled round robin: the next
perspective's best state not yet taken. Perspectives (each a switch under ``search.rules``; see README):

* ``generator`` (always on): cumulative log-probability minus ``penalty_nats`` per penalty point;
* ``critic`` (when a critic is configured): its value in [0, 1] minus ``critic_penalty`` per penalty point;
* ``fewer_goals``: fewest open goals, then fewest penalty points, then the generator score;
* ``shorter_state``: shortest goal text, then fewest penalty points, then the generator score.

Penalty points of a state (each rule a switch): ``penalize_no_progress`` +1 when the tactic that reached
it left every goal's target and the goal count unchanged (it only rewrote hypotheses or renamed things);
``penalize_repeated_tactic`` +1 for each step on its path whose tactic repeats the step before. A tactic
that returns to the state itself or to an ancestor creates no frontier state at all (the graph records it
as a cycle), which is the strongest penalty there is.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from prover.search.api import TreeSearcher
from prover.search.graph import ROOT
from prover.search.run import SearchRun
from prover.search.settings import MpsSettings
from prover.search.status import ProofStatus


def targets(goals: list[str]) -> list[str]:
    """Each goal's target (the text after its ``⊢``)."""
    out = []
    for goal in goals:
        head, sep, tail = goal.rpartition("⊢")
        out.append(tail.strip() if sep else goal.strip())
    return out


class MultiPerspectiveSearch(TreeSearcher):
    name = "mps"
    settings: MpsSettings

    def __init__(self, settings: MpsSettings) -> None:
        super().__init__(settings)
        self.rules = dict(settings.rules)  # every rule present: the settings fill in the defaults

    def perspectives(self, run: SearchRun) -> list[tuple[str, Callable[[int], tuple]]]:
        """(name, key) pairs; a larger key is better."""
        graph = run.graph
        s = self.settings
        penalty = self._penalty

        def generator(n: int) -> tuple:
            return (graph.logprob(n) - s.penalty_nats * penalty[n],)

        chosen: list[tuple[str, Callable[[int], tuple]]] = [("generator", generator)]
        if run.critic is not None:
            chosen.append(
                (
                    "critic",
                    lambda n: (run.value([n])[0] - s.critic_penalty * penalty[n], graph.logprob(n)),
                )
            )
        if self.rules["fewer_goals"]:
            chosen.append(
                (
                    "fewer_goals",
                    lambda n: (-len(graph.goals(n)), -penalty[n], graph.logprob(n)),
                )
            )
        if self.rules["shorter_state"]:
            chosen.append(
                (
                    "shorter_state",
                    lambda n: (
                        -sum(len(g) for g in graph.goals(n)),
                        -penalty[n],
                        graph.logprob(n),
                    ),
                )
            )
        return chosen

    def _penalise(self, run: SearchRun, parent: int, child: int) -> int:
        points = 0
        if self.rules["penalize_no_progress"]:
            before, after = run.graph.goals(parent), run.graph.goals(child)
            if len(after) >= len(before) and targets(after)[: len(before)] == targets(before):
                points += 1
        if self.rules["penalize_repeated_tactic"]:
            path = run.graph.state(child).path
            points += sum(
                1 for a, b in itertools.pairwise(path) if " ".join(a.split()) == " ".join(b.split())
            )
        return points

    def _attempt(self, run: SearchRun) -> ProofStatus:
        graph = run.graph
        self._penalty: dict[int, int] = {ROOT: 0}
        views = self.perspectives(run)
        counter = itertools.count()
        queues: list[list[tuple[tuple, int, int]]] = [[] for _ in views]

        def push(node: int) -> None:
            if run.critic is not None:
                run.value([node])
            for (_, key), queue in zip(views, queues, strict=True):
                heapq.heappush(queue, (tuple(-x for x in key(node)), next(counter), node))

        push(ROOT)
        turn = 0
        while True:
            stop = run.stop_status()
            if stop is not None:
                return stop
            left = run.expansions_left()
            batch: list[int] = []
            want = min(self.settings.batch_size, left)
            idle = 0
            while len(batch) < want and idle < len(views):
                queue = queues[turn % len(views)]
                turn += 1
                while queue and (graph.is_expanded(queue[0][2]) or queue[0][2] in batch):
                    heapq.heappop(queue)
                if queue:
                    batch.append(heapq.heappop(queue)[2])
                    idle = 0
                else:
                    idle += 1
            if not batch:
                return run.exhausted()
            new_nodes: list[int] = []
            for outcome in run.expand(batch):
                if outcome.kind == "new":
                    self._penalty[outcome.child] = self._penalise(run, outcome.parent, outcome.child)
                    new_nodes.append(outcome.child)
            if run.critic is not None and new_nodes:
                run.value(new_nodes)  # one batched critic call for the whole expansion
            for node in new_nodes:
                push(node)
