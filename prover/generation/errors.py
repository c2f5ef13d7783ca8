"""The generation package's exception base, so callers can catch every generation failure with one class.

Configuration that cannot become a generator (:class:`~prover.generation.settings.GeneratorConfigError`),
a model that cannot load (:class:`~prover.generation.hf.ModelLoadError`), requests no generator can serve
(:class:`~prover.generation.inputs.GenerationInputError`) and unreadable tactic corpora
(:class:`~prover.generation.corpus.TacticCorpusError`) all derive from :class:`GenerationError`.
"""

from __future__ import annotations

from prover.errors import ProverError


class GenerationError(ProverError, ValueError):
    """Base of generation failures.

    Also a ``ValueError``, as every generation error was before this base existed, so older callers that
    caught ``ValueError`` keep working.
    """
