"""``make_searcher(cfg.search)``: the one place that maps a search name to its algorithm.

Why a module of its own: the algorithms import the seam (``prover.search.api``); if the seam also
imported the algorithms to build them, the two would form an import circle.
"""

from __future__ import annotations

from typing import Any

from prover.search.api import Searcher
from prover.search.bfs import BestFirstSearch
from prover.search.mcts import MonteCarloTreeSearch
from prover.search.mps import MultiPerspectiveSearch
from prover.search.settings import (
    BfsSettings,
    MctsSettings,
    MpsSettings,
    SearchSettings,
    WholeProofSettings,
    search_settings,
)
from prover.search.whole_proof import WholeProofSearch


def make_searcher(search_cfg: Any) -> Searcher:
    """Build the searcher named by ``search_cfg.name`` (bfs | mcts | mps | whole_proof).

    ``search_cfg`` is a hydra node, a dict or an already validated settings model; a bad key or value is a
    :class:`~prover.search.errors.SearchConfigError` naming it.
    """
    settings: SearchSettings = search_settings(search_cfg)
    if isinstance(settings, BfsSettings):
        return BestFirstSearch(settings)
    if isinstance(settings, MctsSettings):
        return MonteCarloTreeSearch(settings)
    if isinstance(settings, MpsSettings):
        return MultiPerspectiveSearch(settings)
    if isinstance(settings, WholeProofSettings):
        return WholeProofSearch(settings)
    raise TypeError(f"no searcher for settings of type {type(settings).__name__}")
