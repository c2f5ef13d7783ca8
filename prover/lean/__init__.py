"""The Lean layer: the only code that spawns Lean or parses its output."""

from prover.lean.errors import LeanError
from prover.lean.session import LeanSession
from prover.lean.types import (
    Crash,
    ProofFinished,
    StartResult,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
    Timeout,
    Verdict,
)

__all__ = [
    "Crash",
    "LeanError",
    "LeanSession",
    "ProofFinished",
    "StartResult",
    "TacticError",
    "TacticResult",
    "TacticState",
    "Theorem",
    "Timeout",
    "Verdict",
]
