"""Retrieval augmentation as in ReProver: retrieved premises are prepended to the state within a budget.

Each premise is written as ``<a>full_name</a> code`` followed by a blank line; the most relevant premise
ends up closest to the state, and premises that do not fit the remaining budget are skipped (a shorter,
less relevant one may still fit). The budget is in UTF-8 bytes because ReProver's ByT5 reads bytes; the
state itself is never truncated here (the model's tokenizer limit does that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class PremiseRetriever(Protocol):
    """What augmentation needs from ``retrieval.retriever.Retriever``."""

    def retrieve(self, state: str, k: int, accessible: Any = None) -> list[tuple[Any, float]]: ...


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
    """Retrieves ``k`` premises for a state and formats them as a prefix."""

    def __init__(self, retriever: PremiseRetriever, k: int = 16, max_bytes: int = 2048) -> None:
        if k < 1 or max_bytes < 1:
            raise ValueError("retrieval augmentation needs k >= 1 and max_bytes >= 1")
        self.retriever = retriever
        self.k = k
        self.max_bytes = max_bytes

    def prefix(self, state: str, accessible: Any = None) -> str:
        hits = self.retriever.retrieve(state, self.k, accessible=accessible)
        return premises_prefix([premise for premise, _score in hits], state, self.max_bytes)

    def augment(self, state: str, accessible: Any = None) -> str:
        return self.prefix(state, accessible) + state
