"""Warm spares: REPL processes that have already imported a header, waiting to replace one that died.

Killing a REPL (a timeout, a crash, the memory cap, ``restart_every``) throws away its imported environment,
and importing Mathlib again costs tens of seconds. With ``backend.warm_spares: N`` the pool keeps, for each
header in use (its imports, ``prover.lean.header_key``), N processes that have elaborated those imports and
then sit idle. When a pool process must restart, it takes a spare of its header at once
(:meth:`ReplProcess.adopt <prover.lean.repl_process.ReplProcess.adopt>`), and a new spare starts importing in
the background. A restart waits for a spare that is still importing rather than starting an import of its own
from zero: the spare started earlier, so it finishes first.

Spares are kept for the ``max_headers`` headers used most recently (a run over one benchmark uses one or two);
the spares of an older header are killed. Each spare is a whole Lean process (several GB for Mathlib), which is
why the default is one per header. A spare is built by its own thread; it is handed to a pool process only
when its import has finished, and from then on belongs to that process's thread alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class SpareProcess(Protocol):
    """What a spare must offer (``prover.lean.repl_process.ReplProcess`` does); a protocol, so this module needs
    no import of the process module that owns the pool (no import circle, even for the type checker)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def alive(self) -> bool: ...

    def header_env(self, header: str) -> object: ...

    def kill(self) -> None: ...


log = logging.getLogger(__name__)
ImportKey = tuple[str, ...]


P = TypeVar("P", bound=SpareProcess)


class SparePool(Generic[P]):
    """Per header (import key), up to ``per_header`` idle processes that have imported it."""

    def __init__(
        self, make: Callable[[], P], per_header: int, *, max_headers: int = 4, wait_s: float = 300.0
    ) -> None:
        self._make = make
        self.per_header = int(per_header)
        self.max_headers = max(1, int(max_headers))
        #: how long a restart waits for a spare that is still importing
        self.wait_s = float(wait_s)
        self._ready: OrderedDict[ImportKey, list[P]] = OrderedDict()
        self._building: dict[ImportKey, list[P]] = {}
        self._texts: dict[ImportKey, str] = {}
        self._cond = threading.Condition()
        self._closed = False
        #: counters for tests and benchmarks
        self.taken = 0
        self.built = 0
        self.failed = 0

    # --- the pool's side -------------------------------------------------------------------------------
    def want(self, key: ImportKey, import_text: str) -> None:
        """``key`` is in use: keep ``per_header`` spares of it (start building the missing ones)."""
        if self.per_header <= 0 or not key:
            return
        with self._cond:
            if self._closed:
                return
            self._texts[key] = import_text
            self._ready.setdefault(key, [])
            self._ready.move_to_end(key)
            self._evict_locked()
            missing = self.per_header - len(self._ready[key]) - len(self._building.get(key, []))
            starts = [self._make() for _ in range(max(0, missing))]
            self._building.setdefault(key, []).extend(starts)
        for spare in starts:
            threading.Thread(
                target=self._build, args=(key, import_text, spare), name="repl-spare", daemon=True
            ).start()

    def take(self, key: ImportKey, wait: bool = True) -> P | None:
        """A live spare that has imported ``key`` (waiting for one that is importing), or None.

        Taking a spare starts its replacement in the background."""
        if self.per_header <= 0 or not key:
            return None
        deadline = time.monotonic() + self.wait_s
        spare: P | None = None
        with self._cond:
            while not self._closed:
                ready = self._ready.get(key, [])
                while ready and spare is None:
                    candidate = ready.pop(0)
                    if candidate.alive:
                        spare = candidate
                    else:
                        candidate.kill()
                if spare is not None or not wait or not self._building.get(key):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            text = self._texts.get(key)
        if spare is not None:
            self.taken += 1
        if text is not None:
            self.want(key, text)  # the replacement (or a first spare when none was ready)
        return spare

    def counts(self) -> dict[str, int]:
        """Spares ready and importing, over all headers."""
        with self._cond:
            return {
                "ready": sum(len(v) for v in self._ready.values()),
                "building": sum(len(v) for v in self._building.values()),
            }

    def close(self) -> None:
        """Kill every spare, ready or importing (an importing one's thread sees EOF and ends)."""
        with self._cond:
            self._closed = True
            ready = [p for procs in self._ready.values() for p in procs]
            building = [p for procs in self._building.values() for p in procs]
            self._ready.clear()
            self._cond.notify_all()
        for proc in ready:
            proc.kill()
        for proc in building:
            _signal_group(proc)

    # --- internals ---------------------------------------------------------------------------------
    def _evict_locked(self) -> None:
        while len(self._ready) > self.max_headers:
            _, procs = self._ready.popitem(last=False)
            for proc in procs:
                proc.kill()

    def _build(self, key: ImportKey, import_text: str, spare: P) -> None:
        ok = False
        try:
            spare.header_env(import_text)
            ok = spare.alive
        except Exception as exc:  # a spare that cannot import is dropped; the pool imports itself
            log.info("a warm spare failed to import its header: %s", exc)
        with self._cond:
            building = self._building.get(key, [])
            if spare in building:
                building.remove(spare)
            keep = ok and not self._closed and key in self._ready
            if keep:
                self._ready[key].append(spare)
                self.built += 1
            else:
                self.failed += 0 if ok else 1
            self._cond.notify_all()
        if not keep:
            spare.kill()


def _signal_group(proc: SpareProcess) -> None:
    """SIGKILL a process another thread is using (its reader then sees EOF); never touches its pipes."""
    pid = proc.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
