"""Dense ranking of Alchemy's candidate rules: the project's retriever (``prover.retrieval``) orders the rules that
passed the symbol filter by similarity to the target's goal, so that ``alchemy.max_rules`` keeps the likeliest.

The symbol filter is a necessary condition (a rule whose notation is absent cannot rewrite); among the rules
that pass, many are generic (``add_comm`` fits any sum). Ranking by the retriever that already picks premises for
proof search spends a probe budget on the rules nearest to the goal first. The index is either one built by
``prover index build`` over the rule corpus (``alchemy.rank_index``) or built in memory from the rules' types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.retrieval.corpus import Corpus, Premise
from prover.synthesis.alchemy import Rule


class DenseRuleRanker:
    """Orders rules by the retriever's score for the goal, best first; rules the index lacks come last."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    @classmethod
    def from_rules(cls, rules: Sequence[Rule], encoder: Any) -> DenseRuleRanker:
        """An in-memory flat index of ``theorem NAME : TYPE`` for each rule, encoded by ``encoder``."""
        from prover.retrieval.index import build_dense_index
        from prover.retrieval.retriever import DenseRetriever

        corpus = Corpus([Premise(r.name, code=f"theorem {r.name} : {r.type}") for r in rules])
        return cls(DenseRetriever(build_dense_index(corpus, encoder), encoder))

    @classmethod
    def from_index(cls, index_dir: str, device: str = "cpu") -> DenseRuleRanker:
        """A dense index directory (``prover index build``) over a premise corpus holding the rules."""
        from prover.retrieval.retriever import DenseRetriever, load_retriever

        retriever = load_retriever(index_dir, device=device)
        if not isinstance(retriever, DenseRetriever):
            from prover.retrieval.errors import RetrievalError

            raise RetrievalError(f"alchemy.rank=dense needs a dense index; {index_dir} is BM25")
        return cls(retriever)

    def rank(self, goal: str, rules: Sequence[Rule]) -> list[Rule]:
        by_name: dict[str, Rule] = {}
        for r in rules:
            by_name.setdefault(r.name, r)
        hits = self.retriever.retrieve(goal, k=len(by_name), accessible=set(by_name))
        ordered = list(dict.fromkeys(p.full_name for p, _ in hits if p.full_name in by_name))
        ordered += [n for n in by_name if n not in set(ordered)]
        return [by_name[n] for n in ordered]


def make_ranker(settings: Any, rules: Sequence[Rule]) -> DenseRuleRanker | None:
    """The ranker ``AlchemySettings`` asks for (``rank: none`` gives None)."""
    if settings.rank == "none" or not rules:
        return None
    if settings.rank_index:
        return DenseRuleRanker.from_index(settings.rank_index, settings.device)
    import time

    from prover import progress
    from prover.retrieval.encoder import load_encoder

    # encoding a large rule corpus takes minutes on a CPU: say so before, and how long it took after
    progress.say(
        "synth alchemy", f"encoding {len(rules)} rules with {settings.encoder} to rank them (rank=dense)"
    )
    started = time.monotonic()
    ranker = DenseRuleRanker.from_rules(rules, load_encoder(settings.encoder, device=settings.device))
    progress.say("synth alchemy", f"{len(rules)} rules encoded in {time.monotonic() - started:.1f} s")
    return ranker
