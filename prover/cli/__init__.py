"""The ``prover`` command line."""
