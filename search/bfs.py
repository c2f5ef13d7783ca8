"""Best-first search as in ReProver: expand the open state with the highest cumulative log-probability.

``length_normalized`` divides the cumulative log-probability by the depth (BFS-Prover), which stops the
search from preferring shallow states merely because fewer log-probabilities were summed. ``batch_size``
states are popped together; the generator sees them in one call and every resulting step goes to Lean in
one ``run_tactics`` call. A state reached again with a better score is re-queued (lazy deletion).
"""

from __future__ import annotations

import heapq
import itertools

from prover.search.api import Searcher
from prover.search.graph import ROOT
from prover.search.run import SearchRun


class BestFirstSearch(Searcher):
    name = "bfs"

    def priority(self, run: SearchRun, node: int) -> float:
        data = run.graph.graph.nodes[node]
        if self.settings.length_normalized and data["depth"] > 0:
            return data["logprob"] / data["depth"]
        return data["logprob"]

    def _attempt(self, run: SearchRun) -> str:
        graph = run.graph
        counter = itertools.count()
        queue: list[tuple[float, int, int]] = [(-0.0, next(counter), ROOT)]
        queued_priority: dict[int, float] = {ROOT: 0.0}
        while True:
            stop = run.stop_status()
            if stop is not None:
                return stop
            left = run.expansions_left()
            batch: list[int] = []
            while queue and len(batch) < min(self.settings.batch_size, left):
                neg, _, node = heapq.heappop(queue)
                data = graph.graph.nodes[node]
                if data["expanded"] or -neg < queued_priority.get(node, float("-inf")):
                    continue  # already expanded, or a stale entry superseded by a better score
                batch.append(node)
            if not batch:
                # nothing left to expand: every reachable state was expanded without a proof
                return "proved" if graph.is_proved else "failed"
            for outcome in run.expand(batch):
                if outcome.kind in ("new", "duplicate"):
                    child = outcome.child
                    if graph.graph.nodes[child]["expanded"]:
                        continue
                    p = self.priority(run, child)
                    if p > queued_priority.get(child, float("-inf")):
                        queued_priority[child] = p
                        heapq.heappush(queue, (-p, next(counter), child))
