"""The root of the project's exceptions.

Every package has one base class deriving from :class:`ProverError` (``prover.lean``: ``LeanError``,
``prover.retrieval``: ``RetrievalError``, ...), so a caller can catch "anything this project raised on
purpose" without also catching programming errors, and the CLI can turn any of them into one line.
"""

from __future__ import annotations


class ProverError(Exception):
    """Base of every exception the project raises deliberately."""


class ConfigError(ProverError, ValueError):
    """A configuration value or key is wrong; the message names the key and what was expected.

    Also a ``ValueError`` so that code written against the older factories (which raised ``ValueError``)
    keeps working.
    """
