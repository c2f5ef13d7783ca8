"""The evaluation package's exception base, so a caller can catch every evaluation failure with one class.

Benchmarks that cannot be read (``BenchmarkError``), a manifest or fetch that fails (``ManifestError``,
``FetchError``), a run that cannot start or continue (``SetupError``, ``RunLocked``, ``RunError``), an
executor that cannot be set up (``ExecutorError``) and a report that cannot be written (``ReportError``)
all derive from :class:`EvaluationError`. Each also keeps the builtin base it had before (``ValueError``
or ``RuntimeError``), so older callers that caught those keep working.
"""

from __future__ import annotations

from prover.errors import ProverError


class EvaluationError(ProverError):
    """Base of evaluation failures."""
