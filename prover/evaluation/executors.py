"""Run independent jobs over workers that each own expensive state (a Lean session, a model).

A *worker spec* is ``("module:factory", config)``: every worker process calls the factory once with the
config and then ``.run(job) -> dict`` for each job it is given, so sessions and generators are built where
they are used and never pickled. Results stream back in completion order; the caller alone writes them.
``workers: 0`` runs inline (no process), ``local`` uses a spawn-based process pool, ``ray`` uses Ray actors.

Expensive state is built once per process: the inline executor takes the driver's already built worker, and
the process pool runs the run's preflight inside one of its own workers (:meth:`LocalExecutor.preflight`)
and keeps that pool for the run, so the driver never loads a model it would throw away.

Workers die with their driver: a pool process asks Linux for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``) and also watches its parent pid from a daemon thread (the death signal fires when
the *thread* that forked exits, and is not available off Linux); either way it closes its worker (sessions,
REPL processes) and exits. A driver that stops early (exception, SIGTERM, Ctrl-C) terminates its pool.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from pydantic import NonNegativeInt, PositiveInt

from prover.errors import ConfigError
from prover.evaluation.errors import EvaluationError
from prover.settings import Settings, load_one_of

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]


class Worker(Protocol):
    """Builds its expensive state once; ``run`` returns a picklable result (a record, a dict)."""

    def run(self, job: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


def worker_preflight(worker: Worker) -> Callable[[dict[str, Any]], float]:
    """The worker's ``preflight(job) -> load seconds`` (a run's worker must have one: it builds its state and
    starts one session on the run's first problem); :class:`ExecutorConfigError` naming the class otherwise,
    never an ``AttributeError`` in the middle of a run's start."""
    preflight = getattr(worker, "preflight", None)
    if not callable(preflight):
        raise ExecutorConfigError(
            f"the run's worker {type(worker).__name__} has no preflight(job) method; a run needs one"
        )
    return cast("Callable[[dict[str, Any]], float]", preflight)


@dataclass(frozen=True)
class WorkerSpec:
    """``factory`` is ``"package.module:callable"``; ``config`` must be plain data (picklable, JSON-like)."""

    factory: str
    config: dict[str, Any]

    def build(self) -> Worker:
        module_name, _, attr = self.factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        return factory(self.config)


@dataclass
class JobOutcome:
    """A finished job: its result, or why the worker could not produce one (``error``)."""

    job: dict[str, Any]
    result: Any = None
    error: str | None = None


class ExecutorError(EvaluationError, RuntimeError):
    """The executor cannot be set up (bad config, Ray missing or unreachable)."""


class ExecutorConfigError(ExecutorError, ConfigError):
    """An ``executor`` config key or value is wrong; the message names ``executor.<key>``."""


class ExecutorSettings(Settings):
    """Keys every executor accepts."""

    name: str
    workers: NonNegativeInt = 1


class LocalExecutorSettings(ExecutorSettings):
    """``configs/executor/local.yaml``: ``workers`` spawned processes; 0 runs every job inline."""

    name: Literal["local"] = "local"
    workers: NonNegativeInt = 1


class RayExecutorSettings(ExecutorSettings):
    """``configs/executor/ray.yaml``: ``workers`` Ray actors; ``address`` null starts a local cluster."""

    name: Literal["ray"] = "ray"
    workers: PositiveInt = 2
    address: str | None = None
    #: CPUs of a local cluster (null: = workers)
    num_cpus: PositiveInt | None = None


EXECUTOR_SETTINGS: dict[str, type[ExecutorSettings]] = {
    "local": LocalExecutorSettings,
    "ray": RayExecutorSettings,
}


def executor_settings(cfg: Any) -> ExecutorSettings:
    """The typed settings of a ``cfg.executor`` node or dict (``name`` defaults to ``local``)."""
    if isinstance(cfg, ExecutorSettings):
        return cfg
    return load_one_of(EXECUTOR_SETTINGS, cfg, "executor", default="local", error=ExecutorConfigError)


# --- inline ------------------------------------------------------------------------------------------


class InlineExecutor:
    """Runs every job in this process: no isolation, no start-up cost (debugging, ``workers: 0``)."""

    workers = 1
    #: ``run`` takes an already built worker (the preflight's), so a model is not loaded twice
    accepts_worker = True

    def run(
        self, spec: WorkerSpec, jobs: Iterable[dict[str, Any]], worker: Worker | None = None
    ) -> Iterator[JobOutcome]:
        worker = worker if worker is not None else spec.build()
        try:
            for job in jobs:
                try:
                    yield JobOutcome(job, worker.run(job))
                except Exception as exc:
                    yield JobOutcome(job, error=f"{type(exc).__name__}: {exc}")
        finally:
            worker.close()


# --- local process pool ---------------------------------------------------------------------------------

_PROCESS_WORKER: Worker | None = None
#: why this pool process could not build its worker's state (reported by the preflight and each job)
_PROCESS_SETUP_ERROR: BaseException | None = None
_PR_SET_PDEATHSIG = 1
#: how often a pool process checks that its driver is still alive
WATCHDOG_INTERVAL_S = 0.5


#: How long a dying pool process waits for its worker to close before it exits anyway.
EXIT_CLOSE_WAIT_S = 5.0
#: Taken (never waited on) by the first call of :func:`_exit_worker`; a non-blocking acquire is atomic and
#: safe inside a signal handler, where an ``Event`` is not (its ``set`` takes a lock that a second SIGTERM,
#: run on top of the first handler in the same thread, would wait on forever).
_EXIT_LOCK = threading.Lock()
#: When the exit began (``time.monotonic``), so the watchdog can end an exit that got stuck.
_EXIT_STARTED: float | None = None


def _exit_worker(*_: object) -> None:
    """Close this process's worker (its sessions and REPL children) and exit, within ``EXIT_CLOSE_WAIT_S``.

    Why bounded, in a thread: this runs from the SIGTERM handler (in the main thread, possibly while that very
    thread holds a REPL process's lock in the middle of a request) or from the watchdog thread (while the main
    thread waits on Lean). An unbounded ``close()`` would then deadlock or wait out a long tactic, leaving an
    orphaned process. Exiting without a finished close is safe: each REPL's reaper kills its process group
    when this process's end of the watch pipe closes."""
    global _EXIT_STARTED
    if not _EXIT_LOCK.acquire(blocking=False):  # exiting already: a second signal, or the watchdog
        return
    _EXIT_STARTED = time.monotonic()
    worker = _PROCESS_WORKER
    if worker is not None:

        def close() -> None:
            with contextlib.suppress(Exception):
                worker.close()

        closer = threading.Thread(target=close, name="worker-close", daemon=True)
        closer.start()
        closer.join(EXIT_CLOSE_WAIT_S)
    os._exit(0)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_INTERVAL_S)
        if os.getppid() != parent:
            started = _EXIT_STARTED
            if started is not None and time.monotonic() - started > EXIT_CLOSE_WAIT_S + 1.0:
                os._exit(0)  # an exit began (in the signal handler) and is stuck: end it from here
            _exit_worker()


def _die_with_parent(parent: int) -> None:
    """Make this pool process exit when the driver ``parent`` dies, however it dies (``kill -9`` included)."""
    if os.getppid() != parent:  # the driver died while this process was starting
        os._exit(0)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable; relying on the watchdog thread")
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True).start()


def _progress_enabled() -> bool:
    from prover import progress

    return progress.enabled()


def _follow_the_driver(log_level: int, progress_on: bool) -> None:
    """A spawned process starts with Python's logging defaults: take the driver's ``-v`` level and its
    ``--no-progress``, so a worker's log records and progress lines show (or not) as the driver's do."""
    from prover import progress
    from prover.log import setup_logging

    progress.set_enabled(progress_on)
    if log_level and log_level < logging.WARNING:
        setup_logging(1 if log_level >= logging.INFO else 2)


def _init_process(
    spec: WorkerSpec, parent: int, log_level: int = logging.WARNING, progress_on: bool = True
) -> None:
    global _PROCESS_WORKER, _PROCESS_SETUP_ERROR
    signal.signal(signal.SIGTERM, _exit_worker)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the driver decides
    _die_with_parent(parent)
    _follow_the_driver(log_level, progress_on)
    try:
        _PROCESS_WORKER = spec.build()
        prepare = getattr(_PROCESS_WORKER, "prepare", None)
        if prepare is not None:  # load the model here, not inside the first job's time
            prepare()
    except Exception as exc:  # a failing initializer breaks the pool without a reason: keep the reason
        _PROCESS_SETUP_ERROR = exc
        log.debug("worker set-up failed", exc_info=True)


def _died_in_preflight() -> str:
    """Why a pool's first process may die before it answers. A script that starts a run at import time (no
    ``if __name__ == "__main__":``) is the usual cause from Python: each spawned worker re-imports the script
    and stops there; blaming memory would send the user the wrong way."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if (
        script
        and not str(script).endswith(("prover", "pytest", "__main__.py"))
        and "site-packages" not in script
    ):
        return (
            f"the worker process died during the preflight; from a script the usual cause is {Path(script).name} "
            "starting the run when it is imported (every worker process imports it again): put the run under "
            '`if __name__ == "__main__":` (or use executor.workers=0); else a crash or out of memory'
        )
    return "the worker process died during the preflight (a crash, or out of memory)"


def _preflight_in_process(job: dict[str, Any], backend_cfg: Any) -> dict[str, Any]:
    """The run's preflight inside a pool process: ``{"load_s", "versions"}`` or ``{"error", "exit_code"}``.

    Plain data comes back (a ``SetupError`` would lose its exit code in pickling).
    """
    worker = _PROCESS_WORKER
    if worker is None:
        exc = _PROCESS_SETUP_ERROR or RuntimeError("worker process was not initialised")
        return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0], "exit_code": exit_code_of(exc)}
    try:
        load_s = worker_preflight(worker)(job)
    except Exception as exc:
        return {"error": str(exc).splitlines()[0] if str(exc) else repr(exc), "exit_code": exit_code_of(exc)}
    return {"load_s": load_s, "versions": worker_versions(worker, backend_cfg)}


def worker_versions(worker: Worker, backend_cfg: Any) -> dict[str, Any]:
    """What a prepared worker runs (backend, Lean, Mathlib, judge, sandbox), for ``run.json`` and records."""
    versions = getattr(worker, "versions", None)
    if callable(versions):
        return dict(versions())
    from prover.evaluation.versions import run_versions

    return run_versions(backend_cfg)


def exit_code_of(exc: BaseException) -> int:
    """A setup failure's exit status: its own ``exit_code`` when it declares one, else 2 for bad input or config
    (``ValueError``, ``TypeError``, ``KeyError``, a missing file) and 1 for a broken machine."""
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    return (
        2 if isinstance(exc, ValueError | TypeError | KeyError | FileNotFoundError | IsADirectoryError) else 1
    )


def _run_in_process(job: dict[str, Any]) -> Any:
    if _PROCESS_WORKER is None:
        if _PROCESS_SETUP_ERROR is not None:
            raise RuntimeError(
                f"worker set-up failed: {type(_PROCESS_SETUP_ERROR).__name__}: {_PROCESS_SETUP_ERROR}"
            )
        raise RuntimeError("worker process was not initialised")
    try:
        return _PROCESS_WORKER.run(job)
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}") from None


class LocalExecutor:
    """A pool of ``workers`` spawned processes; a dead process fails only the jobs it held, then the pool restarts."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ExecutorError(f"executor.workers must be >= 1 for a process pool, got {workers}")
        self.workers = workers
        #: the pool the preflight started, kept for ``run`` with the same spec
        self._open: tuple[WorkerSpec, ProcessPoolExecutor] | None = None

    def preflight(self, spec: WorkerSpec, job: dict[str, Any], backend_cfg: Any) -> dict[str, Any]:
        """Start the pool and run the worker's ``preflight(job)`` in one of its processes (the model loads
        there, once); the pool is kept for :meth:`run`. Returns ``{"load_s", "versions"}`` or
        ``{"error", "exit_code"}``.
        """
        self.close()
        pool = self._pool(spec)
        self._open = (spec, pool)
        try:
            return pool.submit(_preflight_in_process, job, backend_cfg).result()
        except BrokenProcessPool:
            self.close()
            return {"error": _died_in_preflight(), "exit_code": 1}
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop a pool that the preflight started and no run took over (idempotent)."""
        if self._open is not None:
            _, pool = self._open
            self._open = None
            self._terminate(pool)

    def _pool(self, spec: WorkerSpec) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(spec, os.getpid(), logging.getLogger().getEffectiveLevel(), _progress_enabled()),
        )

    @staticmethod
    def _terminate(pool: ProcessPoolExecutor) -> None:
        """Stop every pool process now (SIGTERM: each closes its worker), then release the pool."""
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def run(self, spec: WorkerSpec, jobs: Iterable[dict[str, Any]]) -> Iterator[JobOutcome]:
        queue = iter(jobs)
        if self._open is not None and self._open[0] == spec:
            pool, self._open = self._open[1], None  # the preflight's pool: its workers are loaded already
        else:
            self.close()
            pool = self._pool(spec)
        pending: dict[Future[Any], dict[str, Any]] = {}
        finished = False
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    job = next(queue, None)
                    if job is None:
                        break
                    pending[pool.submit(_run_in_process, job)] = job
                if not pending:
                    finished = True
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    job = pending.pop(future)
                    try:
                        yield JobOutcome(job, future.result())
                    except BrokenProcessPool:
                        broken = True
                        yield JobOutcome(job, error="worker process died (crash or out of memory)")
                    except Exception as exc:
                        yield JobOutcome(job, error=str(exc).splitlines()[0] if str(exc) else repr(exc))
                if broken:
                    # the other in-flight jobs were lost with the pool: run them again on a fresh pool
                    lost = list(pending.values())
                    pending.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(spec)
                    for job in lost:
                        pending[pool.submit(_run_in_process, job)] = job
        finally:
            if finished:
                pool.shutdown(wait=True, cancel_futures=True)
            else:  # stopped early (signal, exception, caller closed the generator): do not wait for jobs
                self._terminate(pool)


# --- ray -----------------------------------------------------------------------------------------------


class _RayWorker:
    """The actor body: the same worker as in a local process, built on the node that runs it."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.worker = spec.build()

    def run(self, job: dict[str, Any]) -> Any:
        return self.worker.run(job)


class RayExecutor:
    """``workers`` Ray actors (one CPU each), fed one job at a time so fast actors take more work."""

    def __init__(
        self,
        workers: int,
        address: str | None = None,
        num_cpus: int | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if workers < 1:
            raise ExecutorError(f"executor.workers must be >= 1, got {workers}")
        self.workers = workers
        self.address = address
        self.num_cpus = num_cpus
        self.init_kwargs = dict(init_kwargs or {})
        self._connected = False  # ray.init done by connect(): close() shuts it down

    def connect(self) -> None:
        """Start or reach Ray now, before the run directory exists: an unreachable cluster is a setup error
        that leaves nothing behind, so the corrected command can start the same run afresh."""
        if self._init():
            self._connected = True

    def close(self) -> None:
        if self._connected:
            import ray

            ray.shutdown()
            self._connected = False

    def _init(self) -> bool:
        try:
            import ray
        except ImportError as exc:
            raise ExecutorError("executor=ray needs the 'ray' package: pip install 'ray>=2.9'") from exc
        if ray.is_initialized():
            return False
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": {"env_vars": {"PYTHONPATH": path}},
        }
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs["num_cpus"] = self.num_cpus or self.workers
        kwargs.update(self.init_kwargs)
        try:
            ray.init(**kwargs)
        except Exception as exc:
            raise ExecutorError(f"cannot start or reach Ray ({self.address or 'local'}): {exc}") from exc
        return True

    def run(self, spec: WorkerSpec, jobs: Iterable[dict[str, Any]]) -> Iterator[JobOutcome]:
        import ray

        started = self._init()
        actor_cls: Any = ray.remote(num_cpus=1, max_restarts=1)(_RayWorker)  # ray's actor API is dynamic
        actors = [actor_cls.remote(spec) for _ in range(self.workers)]
        queue = iter(jobs)
        pending: dict[Any, tuple[Any, dict[str, Any]]] = {}
        try:
            for actor in actors:
                job = next(queue, None)
                if job is None:
                    break
                pending[actor.run.remote(job)] = (actor, job)
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                ref = done[0]
                actor, job = pending.pop(ref)
                try:
                    yield JobOutcome(job, ray.get(ref))
                except Exception as exc:
                    message = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
                    yield JobOutcome(job, error=f"ray worker: {message}")
                nxt = next(queue, None)
                if nxt is not None:
                    pending[actor.run.remote(nxt)] = (actor, nxt)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started:
                ray.shutdown()


def make_executor(cfg: Any) -> InlineExecutor | LocalExecutor | RayExecutor:
    """From ``cfg.executor``: ``name: local`` (``workers``; 0 = inline) or ``name: ray`` (``address``, ``num_cpus``)."""
    settings = executor_settings(cfg)
    if isinstance(settings, RayExecutorSettings):
        return RayExecutor(settings.workers, settings.address, settings.num_cpus)
    return InlineExecutor() if settings.workers == 0 else LocalExecutor(settings.workers)
