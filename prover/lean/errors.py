"""The root of the Lean layer's exceptions: :class:`LeanError`.

Lean-side failures of a tactic or a proof are results (``TacticError``, ``Timeout``, ``Crash``, a rejecting
``Verdict``), never exceptions. What remains raised is a misuse or an environment problem (a REPL that does not
speak the protocol, a world file that is not one, text Lean would not lex, a missing toolchain); every such
exception derives from ``LeanError`` so callers can catch "the Lean layer refused" in one clause. Most also keep
the stdlib base they always had (``ValueError`` for bad input, ``RuntimeError`` for a missing toolchain) so
existing ``except ValueError`` callers keep working.
"""

from __future__ import annotations

from prover.errors import ProverError


class LeanError(ProverError):
    """Base of every exception the Lean layer raises deliberately."""
