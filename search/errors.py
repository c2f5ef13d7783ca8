"""The search package's exception base, so a caller can catch every search failure with one class.

A ``search`` config that cannot become a searcher (:class:`SearchConfigError`), a saved search graph that
cannot be read back (:class:`GraphFormatError`) and a generator or session that breaks the seam's contract
(:class:`SeamViolation`) all derive from :class:`SearchError`.
"""

from __future__ import annotations

from prover.errors import ConfigError, ProverError


class SearchError(ProverError):
    """Base of search failures."""


class SearchConfigError(SearchError, ConfigError):
    """A ``search`` config key or value is wrong; the message names ``search.<key>`` (also a ``ValueError``)."""


class GraphFormatError(SearchError, ValueError):
    """A saved search graph (``SearchGraph.to_json()``) is not one, or is malformed (also a ``ValueError``)."""


class SeamViolation(SearchError, RuntimeError):
    """A generator or Lean session answered a batch with the wrong number of results."""
