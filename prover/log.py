"""One logging setup for the whole program: quiet by default, ``-v`` for info, ``-vv`` for debug."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler

#: Progress bars and logs go to stderr so stdout stays machine-readable (JSON lines).
console = Console(stderr=True)


def setup_logging(verbosity: int = 0) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(RichHandler(console=console, show_path=False, rich_tracebacks=False))
    root.setLevel(level)
    for noisy in ("urllib3", "filelock", "matplotlib", "faiss", "transformers", "ray"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class CurrentStderrHandler(logging.StreamHandler):
    """A stream handler that writes to ``sys.stderr`` as it is at emit time.

    ``logging.StreamHandler()`` binds the ``sys.stderr`` of the moment it is built. Libraries build theirs lazily
    (transformers on first use), so under a stream swap (pytest's ``capsys``, a redirect) the handler keeps a
    stream that is closed later and every record then prints ``--- Logging error --- ValueError: I/O operation
    on closed file``. Resolving the stream per record cannot go stale.
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """Ignored (``StreamHandler.__init__``/``setStream`` assign it): the stream is always the current stderr."""


def follow_current_stderr() -> int:
    """Swap every plain ``StreamHandler`` bound to the current (or a closed) stderr for a ``CurrentStderrHandler``.

    A library's ``StreamHandler`` subclass holding a closed stream is pointed at the current stderr instead.
    Returns how many were changed. Handlers on other live streams (files, stdout) are left alone.
    """
    swapped = 0
    loggers = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in list(logger.handlers):
            if not isinstance(handler, logging.StreamHandler) or isinstance(
                handler, (CurrentStderrHandler, logging.FileHandler)
            ):
                continue
            stream = handler.stream
            closed = getattr(stream, "closed", False)
            if type(handler) is not logging.StreamHandler:
                if closed:  # a library's own subclass (ray's): keep its behaviour, give it a live stream
                    handler.stream = sys.stderr  # not setStream(): it flushes the old, closed stream first
                    swapped += 1
                continue
            if stream is not sys.stderr and not closed:
                continue
            lazy = CurrentStderrHandler(handler.level)
            lazy.setFormatter(handler.formatter)
            for f in handler.filters:
                lazy.addFilter(f)
            logger.removeHandler(handler)
            logger.addHandler(lazy)
            swapped += 1
    return swapped
