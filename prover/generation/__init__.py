"""Tactic generators and critics (see ``prover.generation.base`` for the seams)."""

from prover.generation.base import Critic, GenerationRequest, Suggestion, TacticGenerator, dedupe_best

__all__ = ["Critic", "GenerationRequest", "Suggestion", "TacticGenerator", "dedupe_best"]
