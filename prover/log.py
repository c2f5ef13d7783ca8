"""One logging setup for the whole program: quiet by default, ``-v`` for info, ``-vv`` for debug."""

from __future__ import annotations

import logging

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
