"""A formal theorem-proving agent for Lean 4.

Layers (see docs/ARCHITECTURE.md): ``prover.lean`` (the only code that talks to Lean),
``retrieval`` (premises, encoders, indexes), ``prover.generation`` (tactic generators and critics),
``search`` (proof search over Lean states), ``prover.evaluation`` (benchmarks, runs, reports),
``prover.cli`` (the ``prover`` command).
"""

__version__ = "0.1.0"
