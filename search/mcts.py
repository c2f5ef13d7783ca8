"""Monte-Carlo tree search with PUCT, generator priors, critic values and progressive widening.

Each simulation walks down from the root choosing the child maximising
``Q(c) + c_puct * P(s, c) * sqrt(N(s)) / (1 + N(c))``, where ``P`` is the softmax of the generator's
log-probabilities over the state's sampled tactics and ``Q`` the mean backed-up value. Tactics are run
lazily: a state may have ``ceil(widening_k * N(s)^widening_alpha)`` tried tactics (progressive widening),
so Lean time goes to the most promising tactics first and a state's tactic list is tried further only as
it earns visits. A new state is expanded at once (one generator call = one expansion) and valued by the
critic; a failed tactic backs up 0. With ``batch_size > 1`` several simulations are selected before any
is evaluated, each adding a virtual loss along its path so the others spread out; their Lean steps go
to one ``run_tactics`` call and their new states to one generator call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prover.generation.base import Suggestion
from prover.search.api import TreeSearcher
from prover.search.graph import ROOT, Status
from prover.search.run import SearchRun
from prover.search.settings import MctsSettings
from prover.search.status import ProofStatus


def softmax_priors(suggestions: list[Suggestion]) -> list[float]:
    """Softmax over the sampled tactics' log-probabilities (a prior over the state's candidate tactics)."""
    if not suggestions:
        return []
    top = max(s.logprob for s in suggestions)
    weights = [math.exp(s.logprob - top) for s in suggestions]
    total = sum(weights)
    return [w / total for w in weights]


@dataclass
class _Tree:
    """MCTS statistics beside the search graph (visits and values live on nodes: a transposition table)."""

    visits: dict[int, float] = field(default_factory=dict)
    value_sum: dict[int, float] = field(default_factory=dict)
    untried: dict[int, list[tuple[Suggestion, float]]] = field(default_factory=dict)
    tried: dict[int, int] = field(default_factory=dict)
    prior: dict[tuple[int, int], float] = field(default_factory=dict)

    def q(self, node: int) -> float:
        n = self.visits.get(node, 0.0)
        return self.value_sum.get(node, 0.0) / n if n > 0 else 0.0

    def add(self, path: list[int], visits: float, value: float) -> None:
        for node in path:
            self.visits[node] = self.visits.get(node, 0.0) + visits
            self.value_sum[node] = self.value_sum.get(node, 0.0) + value


@dataclass
class _Selection:
    path: list[int]
    action: str  # generate | widen | dead
    suggestion: Suggestion | None = None
    prior: float = 0.0


class MonteCarloTreeSearch(TreeSearcher):
    name = "mcts"
    settings: MctsSettings

    def allowed_children(self, visits: float) -> int:
        s = self.settings
        return math.ceil(s.widening_k * max(visits, 1.0) ** s.widening_alpha)

    def _select(self, run: SearchRun, tree: _Tree) -> _Selection:
        graph = run.graph
        c_puct = self.settings.exploration
        path = [ROOT]
        node = ROOT
        while True:
            if node not in tree.untried:
                return _Selection(path, "generate")
            live = [c for c in graph.children(node) if graph.status(c) is not Status.FAILED]
            pending = tree.untried[node]
            if pending and (
                not live or tree.tried.get(node, 0) < self.allowed_children(tree.visits.get(node, 0))
            ):
                suggestion, prior = pending.pop(0)
                tree.tried[node] = tree.tried.get(node, 0) + 1
                if not pending:
                    graph.mark_expanded(node)
                return _Selection(path, "widen", suggestion, prior)
            if not live:
                return _Selection(path, "dead")
            sqrt_n = math.sqrt(max(tree.visits.get(node, 0.0), 1.0))
            parent = node

            def puct(child: int, parent: int = parent, sqrt_n: float = sqrt_n) -> float:
                prior = tree.prior.get((parent, child), 0.0)
                return tree.q(child) + c_puct * prior * sqrt_n / (1.0 + tree.visits.get(child, 0.0))

            node = max(live, key=puct)
            path.append(node)

    def _attempt(self, run: SearchRun) -> ProofStatus:
        s = self.settings
        tree = _Tree()
        max_sims = s.max_simulations or s.max_expansions * s.num_sampled_tactics * 2 + 1
        simulations = 0
        while True:
            stop = run.stop_status() or (ProofStatus.BUDGET_EXHAUSTED if simulations >= max_sims else None)
            if stop is not None:
                return stop
            selections: list[_Selection] = []
            for _ in range(s.batch_size):
                sel = self._select(run, tree)
                selections.append(sel)
                tree.add(sel.path, s.virtual_loss, -s.virtual_loss)  # virtual loss: pretend it lost
                if sel.action != "widen":
                    break  # a leaf to generate or a dead end: evaluate before selecting further
            simulations += len(selections)
            for sel in selections:
                tree.add(sel.path, -s.virtual_loss, s.virtual_loss)
            self._evaluate(run, tree, selections)

    def _evaluate(self, run: SearchRun, tree: _Tree, selections: list[_Selection]) -> None:
        graph = run.graph
        widen = [sel for sel in selections if sel.action == "widen"]
        outcomes = run.run(
            [
                (sel.path[-1], sel.suggestion.tactic, sel.suggestion.logprob)  # type: ignore[union-attr]
                for sel in widen
            ]
        )
        leaves: list[tuple[list[int], int | None]] = []  # (path to back up, node whose value is the return)
        for sel, out in zip(widen, outcomes, strict=True):
            if out.kind in ("new", "duplicate"):
                key = (out.parent, out.child)
                tree.prior[key] = max(tree.prior.get(key, 0.0), sel.prior)
                leaves.append((sel.path + [out.child], out.child))
            else:
                leaves.append((sel.path, None))  # failed tactic, cycle or proof: value 0 (proof ends search)
        for sel in selections:
            if sel.action == "generate":
                leaves.append((sel.path, sel.path[-1]))
            elif sel.action == "dead":
                leaves.append((sel.path, None))
        to_generate = [
            n for n in dict.fromkeys(n for _, n in leaves if n is not None) if n not in tree.untried
        ]
        to_generate = to_generate[: max(0, run.expansions_left())]
        if to_generate:
            for node, suggestions in zip(to_generate, run.suggest(to_generate), strict=True):
                tree.untried[node] = list(zip(suggestions, softmax_priors(suggestions), strict=True))
                if not suggestions:
                    graph.mark_expanded(node)
        values = dict(zip(to_generate, run.value(to_generate), strict=True))
        for path, leaf in leaves:
            if leaf is None:
                value = 0.0
            elif leaf in values:
                value = values[leaf]
            elif tree.visits.get(leaf, 0.0) > 0:
                value = tree.q(leaf)
            else:
                value = run.value([leaf])[0]
            # a duplicate child already carries its own visits; back up along the path only once per node
            tree.add(list(dict.fromkeys(path)), 1.0, value)
