"""The one exception base of ``prover.synthesis`` (MUSTARD, Alchemy): a caller catches ``SynthesisError``."""

from __future__ import annotations

from prover.errors import ProverError


class SynthesisError(ProverError):
    """Base of every exception ``prover.synthesis`` raises on purpose (inputs, chat models, run directories)."""
