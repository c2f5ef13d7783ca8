"""Best-first search as in ReProver: expand the open state with the highest cumulative log-probability.

``length_normalized`` divides the cumulative log-probability by the depth (BFS-Prover), which stops the
search from preferring shallow states merely because fewer log-probabilities were summed. ``batch_size``
states are popped together; the generator sees them in one call and every resulting step goes to Lean in
one ``run_tactics`` call. A state reached again with a better score is re-queued (lazy deletion).
"""

from __future__ import annotations

import heapq
import itertools

from prover.search.api import TreeSearcher
from prover.search.graph import ROOT
from prover.search.run import SearchRun
from prover.search.settings import BfsSettings
from prover.search.status import ProofStatus


class BestFirstSearch(TreeSearcher):
    name = "bfs"

    settings: BfsSettings

    def priority(self, run: SearchRun, node: int) -> float:
        graph = run.graph
        depth = graph.depth_of(node)
        if self.settings.length_normalized and depth > 0:
            return graph.logprob(node) / depth
        return graph.logprob(node)

    def _attempt(self, run: SearchRun) -> ProofStatus:
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
                if graph.is_expanded(node) or -neg < queued_priority.get(node, float("-inf")):
                    continue  # already expanded, or a stale entry superseded by a better score
                batch.append(node)
            if not batch:
                # nothing left to expand: every reachable state was expanded without a proof
                return run.exhausted()
            for outcome in run.expand(batch):
                if outcome.kind in ("new", "duplicate"):
                    child = outcome.child
                    if graph.is_expanded(child):
                        continue
                    p = self.priority(run, child)
                    if p > queued_priority.get(child, float("-inf")):
                        queued_priority[child] = p
                        heapq.heappush(queue, (-p, next(counter), child))
