"""The retrieval package's exception base, so callers can catch every retrieval failure with one class.

Every exception raised on purpose under ``prover.retrieval`` (a bad corpus file, an index directory that does
not match its corpus, an encoder that cannot load, a file the corpus does not know, input a retriever cannot
serve) derives from :class:`RetrievalError`, which derives from :class:`prover.errors.ProverError`.
"""

from __future__ import annotations

from prover.errors import ProverError


class RetrievalError(ProverError, ValueError):
    """Base of retrieval failures; also raised for input a retriever cannot serve (empty state, bad ``k``).

    Also a ``ValueError``, as every retrieval error was before this base existed, so older callers that
    caught ``ValueError`` keep working.
    """
