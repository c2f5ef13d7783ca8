"""A formal theorem-proving agent for Lean 4.

Layers, low to high (see docs/ARCHITECTURE.md; a module never imports a higher layer): foundation
(``prover.errors``, ``prover.config``, ``prover.settings``, ...), ``prover.lean`` (the only code that talks to
Lean), ``prover.retrieval`` (premises, encoders, indexes), ``prover.generation`` (tactic generators and
critics), ``prover.search`` (proof search over Lean states), ``prover.evaluation`` (benchmarks, runs, reports),
the capabilities ``prover.fps`` / ``prover.training`` / ``prover.synthesis``, ``prover.serve`` (HTTP API) and
``prover.cli`` (the ``prover`` command).
"""

__version__ = "0.1.0"
