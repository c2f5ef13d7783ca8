"""Reading untrusted theorem text (statement, header, FPS fields, guard-only proofs) off the event loop.

Why a separate process: the lexer and the guard are pure Python, so on a thread they would still hold the GIL
the event loop needs, and a thread cannot be stopped at a deadline. Texts longer than ``INLINE_CHARS`` are read
in one spawned worker process, at a lower scheduling priority than the server; past ``parse_timeout_s`` that
process is killed (504) and a fresh one is started for the next request, so one hostile 900 KB statement costs
at most one deadline of one core while ``/health`` and every other request keep being answered
(``tests/test_serve_live.py``, ``bench/bench_serve.py --big-statement-kb 900``). Short texts (a bare
statement) are read inline: they take a few milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from prover.serve.errors import ApiError, busy

log = logging.getLogger("prover.serve")

T = TypeVar("T")

#: Texts up to this many characters are read on the event loop (measured: ~17 ms for 1,000 characters on a
#: busy 2-core machine, ~4 ms for 256: below a round trip to the worker's process start-up, above a tick).
INLINE_CHARS = 256
#: How long a fresh worker may take to start (spawn + imports on a loaded machine).
STARTUP_S = 60.0


#: The reader's scheduling priority below the server's (``os.nice`` increment): on a busy machine a long read
#: must not take the CPU the event loop needs to answer everyone else (/health stays fast while it reads).
READER_NICE = 10


def _lower_priority() -> None:
    """The worker's initializer: run at a lower priority than the server (best effort)."""
    import contextlib
    import os

    # not on this platform / not permitted: the same priority as the server
    with contextlib.suppress(AttributeError, OSError):
        os.nice(READER_NICE)


def _ready() -> bool:
    """The warm-up call: imports the readers in the worker before the first real request needs them."""
    import prover.serve.service  # noqa: F401

    return True


class ParseWorker:
    """``await run(fn, *args, size=N)``: ``fn(*args)`` inline for small ``size``, else in the worker process."""

    def __init__(self, timeout_s: float, max_waiting: int, retry_after_s: int = 1) -> None:
        self.timeout_s = timeout_s
        self.max_waiting = max_waiting
        self.retry_after_s = retry_after_s
        self.waiting = 0
        self.killed = 0
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[bool] | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> tuple[ProcessPoolExecutor, Future[bool]]:
        """The worker and the future of its warm-up call: a fresh worker's start-up (imports, ~1 s) is not
        counted against a request's parse deadline."""
        with self._lock:
            if self._pool is None or self._ready is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=context, initializer=_lower_priority
                )
                self._ready = self._pool.submit(_ready)
            return self._pool, self._ready

    def warm(self) -> None:
        """Start the worker now (``prover serve`` calls this at start-up, so the first long text is not slow)."""
        self._get_pool()

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self.killed += 1

    async def run(self, fn: Callable[..., T], *args: Any, size: int) -> T:
        if size <= INLINE_CHARS:
            return fn(*args)
        if self.waiting >= self.max_waiting:
            raise busy("readers of long statements", self.retry_after_s)
        self.waiting += 1
        try:
            for _attempt in range(2):  # a pool broken by another request's deadline is replaced once
                pool, ready = self._get_pool()
                try:
                    await asyncio.wait_for(asyncio.wrap_future(ready), STARTUP_S)
                    future = asyncio.wrap_future(pool.submit(fn, *args))
                    return await asyncio.wait_for(future, self.timeout_s)
                except TimeoutError:
                    self._kill(pool)
                    log.info(
                        "reading a %d-character request took over %g s: worker stopped", size, self.timeout_s
                    )
                    raise ApiError(
                        504,
                        "timeout",
                        f"reading the statement took longer than {self.timeout_s:g} s (serve.parse_timeout_s)",
                    ) from None
                except BrokenProcessPool:
                    with self._lock:
                        if self._pool is pool:
                            self._pool = None
            raise ApiError(503, "unavailable", "the statement reader restarted; retry the request")
        finally:
            self.waiting -= 1

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            self._kill(pool)
