"""The one exception base of ``prover.training``: a caller catches ``TrainingError``."""

from __future__ import annotations

from prover.errors import ProverError


class TrainingError(ProverError):
    """Base of every exception ``prover.training`` raises on purpose (training data, run directories)."""
