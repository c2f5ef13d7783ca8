"""The one list of result statuses, from a searcher's attempt to a line of ``results.jsonl``.

A module of its own because both the attempt loop (:mod:`prover.search.run`) and the seam
(:mod:`prover.search.api`) need it, and the seam imports the loop.
"""

from __future__ import annotations

from enum import StrEnum


class ProofStatus(StrEnum):
    """How the attempt at one theorem ended.

    Only ``proved`` counts in a benchmark, and there it means the proof also passed ``session.verify``
    (the soundness guard); ``unverified`` is a found proof the guard rejected (set by the evaluation, never
    by a searcher). Being a ``StrEnum``, a status compares equal to its text and is written as it.
    """

    PROVED = "proved"
    UNVERIFIED = "unverified"
    FAILED = "failed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    TIMEOUT = "timeout"
    ERROR = "error"
