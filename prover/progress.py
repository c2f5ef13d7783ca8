"""The project's own progress output on stderr, and silence for the libraries' bars.

Why one switch: a long step (embedding a corpus, training, synthesis, fetching) must say what it is doing without
``-v``, and ``--no-progress`` must quiet all of it at once; the libraries' own bars (Hugging Face downloads,
transformers, tqdm inside faiss or datasets) would interleave with ours and are never shown. stdout stays
machine-readable (JSON lines): everything here writes to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_STATE = {"enabled": True}


def set_enabled(enabled: bool) -> None:
    """Show (default) or hide the project's progress output."""
    _STATE["enabled"] = enabled


def enabled() -> bool:
    return _STATE["enabled"]


#: the libraries whose log output (retry warnings, load reports with raw colour codes) is never ours to show
_LIBRARY_LOGGERS = ("huggingface_hub", "transformers")


def quiet_libraries() -> None:
    """Turn off the progress bars and chatter of Hugging Face libraries (set before they are imported, and again
    after): hub retry warnings and transformers' "LOAD REPORT" table reach neither stderr nor our log handler;
    a failure still reaches the user as one sentence from the code that called the library."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # read when each library configures its root logger on import
    os.environ.setdefault("HF_HUB_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for name in _LIBRARY_LOGGERS:
        if name in sys.modules:  # already configured: lower the level now
            logging.getLogger(name).setLevel(logging.ERROR)
    if "transformers" in sys.modules:
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        except Exception:  # an old or partial transformers: its bars stay, ours still work
            pass


def say(who: str, message: str) -> None:
    """One progress line, ``prover WHO: MESSAGE``, unless progress is off."""
    if _STATE["enabled"]:
        print(f"prover {who}: {message}", file=sys.stderr, flush=True)


def track(items: Iterable[T], total: int, who: str, what: str, every_s: float = 5.0) -> Iterator[T]:
    """Yield ``items`` and print ``done/total what`` lines (with the rate and time left) at most every
    ``every_s`` seconds, and once at the end. Lines, not a redrawn bar: they stay readable in logs and CI.
    A slow step (a block of 512 embeddings) shows seconds per item, never a rate rounded to ``0.0/s``."""
    started = last = time.monotonic()
    for done, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if _STATE["enabled"] and (now - last >= every_s or done == total):
            last = now
            rate = done / max(now - started, 1e-9)
            left = (total - done) / rate if rate > 0 and total > done else 0.0
            say(who, f"{done}/{total} {what} ({_rate_text(rate)}, ~{left:.0f} s left)")


def _rate_text(rate: float) -> str:
    """``12.5/s`` for fast items, ``3.2 s each`` for slow ones (below 1/s, one decimal of a rate says nothing)."""
    return f"{rate:.1f}/s" if rate >= 1.0 else f"{1.0 / max(rate, 1e-9):.1f} s each"
