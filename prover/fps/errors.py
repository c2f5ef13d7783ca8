"""The one exception base of ``prover.fps`` (formal problem solving): a caller catches ``FpsError``."""

from __future__ import annotations

from prover.errors import ProverError


class FpsError(ProverError):
    """Base of every exception ``prover.fps`` raises on purpose (bad problem files, checks that cannot run)."""
