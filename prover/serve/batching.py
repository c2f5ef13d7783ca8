"""One thread owns the generator and serves every request through a bounded queue, in batches.

Why: generators (torch models, faiss) are not safe to call from many threads at once, and they are much
faster per request when called on a batch. Concurrent HTTP requests and running proof searches therefore
enqueue their states here; the worker takes up to ``max_batch`` waiting requests that ask for the same ``k``
and answers them with ONE ``generate`` call. The queue is bounded: past ``max_queue`` waiting requests the
caller is told the server is busy (429) instead of waiting without limit. A request whose caller went away
(cancelled future) is skipped, not generated for.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.serve.errors import ServeError

log = logging.getLogger("prover.serve")


class QueueFull(ServeError):
    """The generator's queue holds ``max_queue`` requests already."""


class Cancelled(BaseException):
    """The caller (a request or proof job) was cancelled: stop at the next step.

    A ``BaseException`` (as ``asyncio.CancelledError`` is) so that a searcher's ``except Exception`` -- which
    turns a generator failure into an ``error`` result and logs its traceback -- lets it through to the job,
    which logs one line.
    """


@dataclass
class _Item:
    request: GenerationRequest
    k: int
    future: Future[list[Suggestion]]


class GeneratorWorker:
    """``submit(request, k) -> Future[list[Suggestion]]``; one background thread calls the generator."""

    def __init__(self, generator: TacticGenerator, max_queue: int = 64, max_batch: int = 16) -> None:
        self.generator = generator
        self.max_queue = max_queue
        self.max_batch = max_batch
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.batches = 0
        self._thread = threading.Thread(target=self._loop, name="prover-serve-generator", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken by the worker."""
        return len(self._queue)

    def submit(self, request: GenerationRequest, k: int, bounded: bool = True) -> Future[list[Suggestion]]:
        """Queue one request; :class:`QueueFull` when ``bounded`` and the queue is full.

        Proof jobs pass ``bounded=False``: their number is bounded by the job workers already, and a search
        must not fail half-way because editors filled the queue.
        """
        future: Future[list[Suggestion]] = Future()
        with self._cond:
            if self._closed:
                raise QueueFull("the generator is shut down")
            if bounded and len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} generator requests are waiting")
            self._queue.append(_Item(request, k, future))
            self._cond.notify()
        return future

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        k: int,
        cancelled: threading.Event | None = None,
        bounded: bool = False,
    ) -> list[list[Suggestion]]:
        """Blocking batch call through the queue (for proof search threads); :class:`Cancelled` on cancel."""
        futures = [self.submit(r, k, bounded=bounded) for r in requests]
        out: list[list[Suggestion]] = []
        for future in futures:
            while True:
                if cancelled is not None and cancelled.is_set():
                    for f in futures:
                        f.cancel()
                    raise Cancelled("the proof job was cancelled")
                try:
                    out.append(future.result(timeout=0.1))
                    break
                except FutureTimeout:
                    continue
        return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            pending, self._queue = list(self._queue), deque()
            self._cond.notify_all()
        for item in pending:
            item.future.cancel()
        self._thread.join(timeout=5)
        self.generator.close()

    # --- the worker thread ------------------------------------------------------------------------
    def _take_batch(self) -> list[_Item] | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            k = self._queue[0].k
            batch: list[_Item] = []
            rest: deque[_Item] = deque()
            while self._queue:
                item = self._queue.popleft()
                if item.k == k and len(batch) < self.max_batch:
                    batch.append(item)
                else:
                    rest.append(item)
            self._queue = rest
        return [item for item in batch if item.future.set_running_or_notify_cancel()]

    def _loop(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if batch:
                self._serve(batch, lambda reqs, k: self.generator.generate(reqs, k))

    def _serve(
        self, batch: list[_Item], call: Callable[[list[GenerationRequest], int], list[list[Suggestion]]]
    ) -> None:
        self.batches += 1
        try:
            results = call([item.request for item in batch], batch[0].k)
            if len(results) != len(batch):
                raise RuntimeError(f"the generator returned {len(results)} lists for {len(batch)} requests")
        except Exception as exc:
            if len(batch) > 1:  # one bad request must not fail its neighbours: answer them one by one
                for item in batch:
                    self._serve([item], call)
                return
            log.warning("generation failed: %s: %s", type(exc).__name__, exc)
            batch[0].future.set_exception(exc)
            return
        for item, suggestions in zip(batch, results, strict=True):
            item.future.set_result(list(suggestions))
