"""Premise retrievers: given a proof state, the ``k`` most relevant premises, optionally only accessible ones.

``DenseRetriever`` (an encoder + faiss) and ``BM25Retriever`` share one interface, so generation
(``prover.generation.augment``) and the CLI do not care which one the config picked.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prover.retrieval.corpus import Corpus, Premise
from prover.retrieval.errors import RetrievalError
from prover.retrieval.index import PremiseIndex, PremiseIndexError, search_faiss
from prover.retrieval.settings import DEFAULT_MAX_STATE_CHARS, retriever_settings

__all__ = [
    "DEFAULT_MAX_STATE_CHARS",
    "BM25Retriever",
    "DenseRetriever",
    "Hit",
    "Retriever",
    "load_retriever",
    "make_retriever",
]

Hit = tuple[Premise, float]


class Retriever(abc.ABC):
    """``retrieve(state, k, accessible)`` -> best premises first, with scores (higher is better)."""

    def __init__(self, corpus: Corpus, max_state_chars: int = DEFAULT_MAX_STATE_CHARS) -> None:
        self.corpus = corpus
        self.max_state_chars = max_state_chars
        self._rows_by_name: dict[str, list[int]] = {}
        for row, premise in enumerate(corpus.premises):
            self._rows_by_name.setdefault(premise.full_name, []).append(row)

    def retrieve(self, state: str, k: int = 10, accessible: Collection[str] | None = None) -> list[Hit]:
        """Top ``k`` premises for ``state``; with ``accessible``, only premises whose name is in it."""
        return self.retrieve_batch([state], k, [accessible] if accessible is not None else None)[0]

    def retrieve_batch(
        self,
        states: Sequence[str],
        k: int = 10,
        accessible: Sequence[Collection[str] | None] | Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """One result list per state. ``accessible`` is one set for all states, or one (or ``None``) per state."""
        if isinstance(states, str):
            raise RetrievalError("retrieve_batch() takes a list of states, not one string")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise RetrievalError(f"k must be a positive integer, got {k!r}")
        texts = [self._check_state(s, i) for i, s in enumerate(states)]
        filters = self._per_state_filters(accessible, len(texts))
        rows = [None if f is None else self._allowed_rows(f) for f in filters]
        return self._retrieve(texts, k, rows)

    @abc.abstractmethod
    def _retrieve(self, states: list[str], k: int, allowed: list[np.ndarray | None]) -> list[list[Hit]]: ...

    # --- input handling --------------------------------------------------------------------------------
    def _check_state(self, state: Any, i: int) -> str:
        if not isinstance(state, str):
            raise RetrievalError(f"state #{i} is a {type(state).__name__}, not a string")
        if not state.strip():
            raise RetrievalError(f"state #{i} is empty")
        return state[: self.max_state_chars]

    @staticmethod
    def _per_state_filters(accessible: Any, n: int) -> list[Collection[str] | None]:
        if accessible is None:
            return [None] * n
        if isinstance(accessible, (set, frozenset)):
            return [accessible] * n
        if (
            isinstance(accessible, (list, tuple))
            and accessible
            and all(isinstance(a, str) for a in accessible)
        ):
            return [frozenset(accessible)] * n  # a list of names, not one filter per state
        if isinstance(accessible, Sequence) and not isinstance(accessible, str):
            if len(accessible) != n:
                raise RetrievalError(f"{len(accessible)} accessible sets for {n} states")
            return list(accessible)
        raise RetrievalError("accessible must be a set of premise names, or one set (or None) per state")

    def _allowed_rows(self, names: Collection[str]) -> np.ndarray:
        rows = [r for name in names for r in self._rows_by_name.get(name, ())]
        return np.unique(np.asarray(rows, dtype=np.int64))

    def _hits(self, scores: Iterable[float], rows: Iterable[int]) -> list[Hit]:
        return [(self.corpus.premises[int(r)], float(s)) for s, r in zip(scores, rows, strict=True) if r >= 0]


class DenseRetriever(Retriever):
    """Encoder + faiss inner product (cosine on unit vectors)."""

    def __init__(
        self, index: PremiseIndex, encoder: Any, max_state_chars: int = DEFAULT_MAX_STATE_CHARS
    ) -> None:
        if index.faiss_index is None:
            raise RetrievalError("a dense retriever needs a dense index (this one is BM25)")
        if getattr(encoder, "dim", index.meta.dim) != index.meta.dim:
            raise RetrievalError(f"encoder dim {encoder.dim} != index dim {index.meta.dim}")
        super().__init__(index.corpus, max_state_chars)
        self.index = index
        self.encoder = encoder

    def _retrieve(self, states: list[str], k: int, allowed: list[np.ndarray | None]) -> list[list[Hit]]:
        vectors = self.encoder.encode(states)
        out: list[list[Hit]] = [[] for _ in states]
        unfiltered = [i for i, a in enumerate(allowed) if a is None]
        if unfiltered:  # one batched faiss call for every state without a filter
            scores, rows = search_faiss(self.index.faiss_index, vectors[unfiltered], k)
            for j, i in enumerate(unfiltered):
                out[i] = self._hits(scores[j], rows[j])
        for i, rows_allowed in enumerate(allowed):
            if rows_allowed is not None:
                scores, rows = search_faiss(self.index.faiss_index, vectors[i : i + 1], k, rows_allowed)
                out[i] = self._hits(scores[0], rows[0])
        return out


class BM25Retriever(Retriever):
    """Lean-aware BM25 baseline; exact top-k (all rows are scored)."""

    def __init__(self, index: PremiseIndex, max_state_chars: int = DEFAULT_MAX_STATE_CHARS) -> None:
        from prover.retrieval.bm25 import BM25Index

        super().__init__(index.corpus, max_state_chars)
        self.index = index
        self.bm25 = BM25Index([p.text for p in index.corpus.premises])

    def _retrieve(self, states: list[str], k: int, allowed: list[np.ndarray | None]) -> list[list[Hit]]:
        out: list[list[Hit]] = []
        for state, rows_allowed in zip(states, allowed, strict=True):
            scores = self.bm25.scores(state)
            candidates = np.arange(len(scores)) if rows_allowed is None else rows_allowed
            if len(candidates) == 0:
                out.append([])
                continue
            sub = scores[candidates]
            top = np.argpartition(-sub, min(k, len(sub)) - 1)[:k] if len(sub) > k else np.arange(len(sub))
            top = top[np.lexsort((candidates[top], -sub[top]))]  # best first, ties by row
            out.append(self._hits(sub[top], candidates[top]))
        return out


def load_retriever(
    index_dir: str | Path,
    encoder: str | None = None,
    device: str = "cpu",
    max_state_chars: int = DEFAULT_MAX_STATE_CHARS,
) -> Retriever:
    """The retriever an index directory was built for (dense: with its encoder unless ``encoder`` overrides)."""
    index = PremiseIndex.load(index_dir)
    if index.meta.kind == "bm25":
        return BM25Retriever(index, max_state_chars)
    from prover.retrieval.encoder import load_encoder

    name = encoder or index.meta.encoder
    if name != index.meta.encoder:
        raise PremiseIndexError(
            f"{index_dir}: built with encoder {index.meta.encoder!r}, asked to use {name!r}"
        )
    return DenseRetriever(index, load_encoder(name, device=device), max_state_chars)


def make_retriever(cfg: Any) -> Retriever:
    """From a ``cfg.retriever`` section (configs/retriever/*.yaml), a dict or ``RetrieverSettings``.

    The keys are checked by ``prover.retrieval.settings`` (unknown ones are a ``ConfigError`` naming them);
    ``index_path`` is required and must hold an index of the configured kind.
    """
    settings = retriever_settings(cfg)
    path = settings.index_path
    if not path:
        raise RetrievalError("retriever.index_path is not set; build one with `prover index build` first")
    device = getattr(settings, "device", "cpu")  # BM25 has no encoder, hence no device
    retriever = load_retriever(path, encoder=None, device=device, max_state_chars=settings.max_state_chars)
    kind = "bm25" if isinstance(retriever, BM25Retriever) else "dense"
    if settings.name != kind:
        raise RetrievalError(f"retriever={settings.name} but {path} is a {kind} index")
    return retriever
