"""A bounded pool of Lean sessions: each request holds one session at a time, or is told the server is busy.

Why bounded and non-blocking: a Lean session is a process with a large memory footprint, and a request that
waits for one holds an HTTP connection and a thread. Past ``size`` concurrent users the honest answer is
429 with ``Retry-After`` (as the Kimina Lean server does), not an unbounded queue. Sessions are built on
first use through the one factory (``prover.lean.factory.make_session``), so the server starts fast and a
broken session (its request raised) is closed and replaced rather than handed to the next request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prover.lean.session import LeanSession
from prover.serve.errors import ServeError

log = logging.getLogger("prover.serve")


class PoolBusy(ServeError):
    """Every session of the pool is in use."""


class SessionPool:
    """At most ``size`` sessions; :meth:`hold` lends one or raises :class:`PoolBusy` after ``wait_s``."""

    def __init__(self, factory: Callable[[], LeanSession], size: int, name: str = "sessions") -> None:
        if size < 1:
            raise ValueError(f"a session pool needs size >= 1, got {size}")
        self.factory = factory
        self.size = size
        self.name = name
        self._idle: list[LeanSession] = []
        self._created = 0
        self._in_use = 0
        self._cond = threading.Condition()
        self._closed = False

    @property
    def in_use(self) -> int:
        return self._in_use

    def acquire(self, wait_s: float = 0.0, cancelled: threading.Event | None = None) -> LeanSession:
        """A session for the caller's exclusive use; :class:`PoolBusy` when none frees up within ``wait_s``.

        With ``cancelled``, waits in short slices and gives up (``PoolBusy``) as soon as the event is set.
        """
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                if self._closed:
                    raise PoolBusy(f"the {self.name} pool is closed")
                if self._idle:
                    self._in_use += 1
                    return self._idle.pop()
                if self._created < self.size:
                    self._created += 1
                    self._in_use += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0 or (cancelled is not None and cancelled.is_set()):
                    raise PoolBusy(f"all {self.size} {self.name} are busy")
                self._cond.wait(min(left, 0.1))
        try:
            return self.factory()
        except BaseException:
            with self._cond:
                self._created -= 1
                self._in_use -= 1
                self._cond.notify()
            raise

    def release(self, session: LeanSession, broken: bool = False) -> None:
        """Give ``session`` back; ``broken`` closes it (the next request builds a fresh one)."""
        with self._cond:
            self._in_use -= 1
            if broken or self._closed:
                self._created -= 1
            else:
                self._idle.append(session)
            self._cond.notify()
        if broken or self._closed:
            _close(session)

    def abandon(self, session: LeanSession) -> None:
        """Free the slot of a session whose request was cancelled (504, client gone) while a thread still runs
        on it: the session is closed now -- its Lean process is killed, which ends the blocked call -- and the
        next request builds a fresh one instead of waiting for the abandoned work. The thread must not
        :meth:`release` it afterwards."""
        with self._cond:
            self._in_use -= 1
            self._created -= 1
            self._cond.notify()
        threading.Thread(target=_close, args=(session,), name="prover-serve-close", daemon=True).start()

    @contextmanager
    def hold(self, wait_s: float = 0.0, cancelled: threading.Event | None = None) -> Iterator[LeanSession]:
        session = self.acquire(wait_s, cancelled)
        broken = False
        try:
            yield session
        except BaseException:
            broken = True
            raise
        finally:
            self.release(session, broken)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._created -= len(idle)
            self._cond.notify_all()
        for session in idle:
            _close(session)


def _close(session: LeanSession) -> None:
    try:
        session.close()
    except Exception as exc:  # closing is best effort; a failure must not mask the request's own answer
        log.warning("closing a session failed: %s: %s", type(exc).__name__, exc)
