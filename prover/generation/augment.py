"""Retrieval augmentation as in ReProver: retrieved premises are prepended to the state within a budget.

Each premise is written as ``<a>full_name</a> code`` followed by a blank line; the most relevant premise
ends up closest to the state, and premises that do not fit the remaining budget are skipped (a shorter,
less relevant one may still fit). The budget is in UTF-8 bytes because ReProver's ByT5 reads bytes; the
state itself is never truncated here (the model's tokenizer limit does that).

Only premises the theorem may use are retrieved (ReProver's accessible premises): the request's explicit
``accessible`` set, else the premises accessible at its file position, else those under its header's
imports, computed on the retriever's corpus. A request with none of these, or whose file or modules the
corpus does not know, is searched unfiltered (logged once per file/header).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from prover.generation.base import GenerationRequest
from prover.generation.settings import GeneratorConfigError

log = logging.getLogger(__name__)


class PremiseRetriever(Protocol):
    """What augmentation needs from ``prover.retrieval.retriever.Retriever``."""

    def retrieve_batch(
        self, states: Sequence[str], k: int, accessible: Sequence[Collection[str] | None] | None = None
    ) -> list[list[tuple[Any, float]]]: ...


def serialize_premise(premise: Any) -> str:
    """``<a>name</a> code``: the annotated name lets the model copy the name verbatim into a tactic."""
    name = getattr(premise, "full_name", None) or str(premise)
    code = (getattr(premise, "code", "") or "").strip()
    return f"<a>{name}</a> {code}".rstrip()


def premises_prefix(premises: Sequence[Any], state: str, max_bytes: int) -> str:
    """The text to put before ``state`` so that prefix + state stays within ``max_bytes`` when possible."""
    budget = max_bytes - len(state.encode("utf-8"))
    chosen: list[str] = []
    used = 0
    for premise in premises:  # most relevant first
        piece = serialize_premise(premise) + "\n\n"
        size = len(piece.encode("utf-8"))
        if used + size > budget:
            continue
        used += size
        chosen.append(piece)
    # Most relevant last, i.e. adjacent to the state.
    return "".join(reversed(chosen))


class RetrievalAugmenter:
    """Retrieves ``k`` accessible premises per request (one batched call) and formats them as a prefix."""

    def __init__(self, retriever: PremiseRetriever, k: int = 16, max_bytes: int = 2048) -> None:
        if k < 1 or max_bytes < 1:
            raise GeneratorConfigError("retrieval augmentation needs k >= 1 and max_bytes >= 1")
        self.retriever = retriever
        self.k = k
        self.max_bytes = max_bytes
        self._accessibility: Any = None
        self._derived: dict[tuple[Any, ...], frozenset[str] | None] = {}

    def accessible(self, request: GenerationRequest) -> frozenset[str] | None:
        """The accessible-premise filter for ``request`` (``None``: unfiltered)."""
        if request.accessible is not None:
            return request.accessible
        if request.file_path:
            key: tuple[Any, ...] = ("file", request.file_path, request.position)
        elif request.header.strip():
            key = ("header", request.header)
        else:
            return None
        if key not in self._derived:
            self._derived[key] = self._derive(request)
        return self._derived[key]

    def _derive(self, request: GenerationRequest) -> frozenset[str] | None:
        corpus = getattr(self.retriever, "corpus", None)
        if corpus is None:  # a retriever without a premise corpus cannot be filtered by position/imports
            return None
        from prover.retrieval.accessible import Accessibility, AccessibilityError, header_modules

        if self._accessibility is None:
            self._accessibility = Accessibility(corpus)
        try:
            if request.file_path:
                return frozenset(self._accessibility.accessible(request.file_path, request.position))
            modules = header_modules(request.header)
            if not modules:
                return None
            return frozenset(self._accessibility.accessible_from_modules(modules))
        except AccessibilityError as exc:
            where = request.file_path or "the header's imports"
            log.warning("retrieval for %s is unfiltered: %s", where, exc)
            return None

    def prefixes(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """One prefix per request; the retriever gets each request's accessible-premise filter."""
        if not requests:
            return []
        texts = [r.text for r in requests]
        filters = [self.accessible(r) for r in requests]
        hits = self.retriever.retrieve_batch(
            texts, self.k, filters if any(f is not None for f in filters) else None
        )
        return [
            premises_prefix([premise for premise, _score in found], text, self.max_bytes)
            for found, text in zip(hits, texts, strict=True)
        ]

    def prefix(self, request: GenerationRequest) -> str:
        return self.prefixes([request])[0]

    def augment(self, request: GenerationRequest) -> str:
        return self.prefix(request) + request.text
