"""Test doubles of Lean: drop-in REPL processes and an in-process session, with no Lean toolchain.

Split by job: ``world`` (the scripted-world file format and the pure transition ``step``), ``server`` (a REPL
process over a world: ``python -m prover.lean.doubles.server WORLD.json``, also ``prover lean world``),
``session`` (``WorldSession``, the same semantics in-process), ``replay`` (a REPL process answering from a
recorded transcript) and ``record`` (a REPL process tee-ing a real REPL into such a transcript). They speak the
REPL framing through ``prover.lean.protocol``, the same reader and writer the real client uses.
"""
