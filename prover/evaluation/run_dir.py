"""The run lifecycle: check the setup, create or reopen a run directory, lock it, run, resume.

Why a module of its own: a library user must be able to start a resumable run without CLI code, and the
rules that keep a run directory trustworthy belong in one place:

- nothing is created before a *preflight* passed (benchmark loaded, one worker built exactly as the
  executor builds it, one session started on the first problem), so a setup error never leaves result
  lines behind, and a corrected retry starts cleanly; the inline executor then runs with that worker, a
  process pool runs the preflight in its own first worker and keeps it, so a model loads once per process;
- what is run is a :class:`RunKind` (its problem loader and worker): ``prover prove`` (:data:`PROVE`) and
  ``prover solve`` (``prover.fps.run.SOLVE``) share this one lifecycle;
- one process at a time owns a run directory (``fcntl.flock`` on ``RUN_DIR/.lock``, held for the whole
  run); a second one is refused at once instead of appending duplicate lines;
- ``config.yaml`` is written once, atomically; ``--resume`` uses it, and accepts only overrides that
  change how, not what, is run (``executor.*``);
- per-problem errors are results; ``retry_errors`` moves them to ``errors-retried.jsonl`` and runs those
  problems again, keeping one line per problem in ``results.jsonl``.

Layout: ``config.yaml``, ``run.json`` (versions, load time), ``results.jsonl``, ``.lock``, ``trees/``.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.config import as_plain_dict
from prover.evaluation.benchmarks import LoadReport, Problem
from prover.evaluation.errors import EvaluationError
from prover.evaluation.manifest import benchmark_lean_version
from prover.evaluation.results import (
    CONFIG,
    RESULTS,
    AttemptRecord,
    ResultStore,
    RunError,
    new_run_dir,
    note_resume,
    package_version,
    read_results,
    read_run_meta,
    write_run_meta,
)
from prover.evaluation.runner import WORKER_FACTORY, ExecutionSummary, SetupError, model_name
from prover.evaluation.versions import choose_toolchain, lean_versions
from prover.search.status import ProofStatus

LOCK = ".lock"
RETRIED = "errors-retried.jsonl"
#: Overrides allowed together with resume: they change how, not what, is run.
RESUME_SAFE = ("executor", "executor.")

__all__ = [
    "PROVE",
    "RunKind",
    "LOCK",
    "RETRIED",
    "RunLocked",
    "SetupError",
    "EvaluationRun",
    "RunProgress",
    "resume_config",
    "RunDirLock",
]


class RunLocked(EvaluationError):
    """Another process is running in this run directory."""


class RunDirLock:
    """An exclusive, non-blocking ``flock`` on ``RUN_DIR/.lock``; released when the process exits, however."""

    def __init__(self, run_dir: Path, command: str = "prover prove") -> None:
        self.path = run_dir / LOCK
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked(
                f"{self.path.parent} is in use by another `{self.command}` (lock {self.path}); "
                "wait for it to finish or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def resume_config(run_dir: Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The saved ``config.yaml`` of ``run_dir`` with ``executor`` overrides applied; bad input is a SetupError."""
    if not run_dir.is_dir():
        raise SetupError(f"{run_dir} is not a directory (not a run directory)")
    saved = run_dir / CONFIG
    if not saved.is_file():
        raise SetupError(f"{run_dir}: no config.yaml there (not a run directory)")
    unsafe = [o for o in overrides if not o.lstrip("+~").startswith(RESUME_SAFE)]
    if unsafe:
        raise SetupError(
            f"resume uses the run's saved config; only executor overrides are allowed, got: {' '.join(unsafe)}"
        )
    try:
        cfg = OmegaConf.load(saved)
    except Exception as exc:  # yaml.YAMLError, UnicodeDecodeError, OmegaConf errors: all mean "corrupt"
        raise SetupError(f"{saved} is corrupt ({type(exc).__name__}); it cannot be resumed") from None
    if not isinstance(cfg, DictConfig) or not all(k in cfg for k in ("benchmark", "search", "backend")):
        raise SetupError(f"{saved} is not a saved run config (benchmark/search/backend missing)")
    for override in overrides:
        key, eq, value = override.partition("=")
        if not eq or not key.strip("+~"):
            raise SetupError(f"not an override (KEY=VALUE expected): {override}")
        try:
            parsed = OmegaConf.create({"v": value})["v"] if value else None
            OmegaConf.update(cfg, key.lstrip("+~"), parsed, merge=True, force_add=True)
        except Exception as exc:
            raise SetupError(f"bad override {override!r}: {str(exc).splitlines()[0]}") from None
    return cfg


def _versions(backend: Mapping[str, Any]) -> dict[str, Any]:
    from prover.evaluation.manifest import REPO_ROOT

    project = Path(str(backend.get("project_dir") or REPO_ROOT))
    return lean_versions(project if (project / "lean-toolchain").is_file() else REPO_ROOT)


def _load_benchmark(benchmark_cfg: Any) -> tuple[list[Problem], LoadReport]:
    from prover.evaluation.benchmarks import load_benchmark

    return load_benchmark(benchmark_cfg)


@dataclass(frozen=True)
class RunKind:
    """What a run command runs; everything else (preflight, lock, ``run.json``, resume, retries) is shared.

    ``worker`` is the ``"module:callable"`` every executor builds from the plain config (in each process): an
    object with ``prepare()``, ``preflight(job) -> load seconds`` (raising :class:`SetupError`), ``run(job) ->
    AttemptRecord`` and ``close()``. ``load`` reads ``cfg.benchmark`` (a ``ValueError`` is bad input);
    ``validate`` checks the config before anything starts (raise ``ValueError`` naming the key); ``meta`` adds
    fields to ``run.json``; ``label`` names a new run directory.
    """

    command: str = "prover prove"
    worker: str = WORKER_FACTORY
    load: Callable[[Any], tuple[list[Problem], LoadReport]] = _load_benchmark
    validate: Callable[[dict[str, Any]], None] | None = None
    meta: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    label: Callable[[DictConfig], str] = lambda cfg: str(cfg.search.name)


#: ``prover prove``: benchmark theorems, :class:`prover.evaluation.runner.ProblemWorker`.
PROVE = RunKind()


@dataclass(frozen=True)
class RunProgress:
    """Where a run's selected problems stand, results of earlier invocations (resumes) included."""

    total: int
    finished: int
    solved: int
    #: problems whose result is ``error`` (rerun them with ``retry_errors``)
    errors: list[str]
    #: the budget string of the finished results (None before the first one)
    budget: str | None

    @property
    def pass_rate(self) -> float:
        return self.solved / self.total if self.total else 0.0


@dataclass
class EvaluationRun:
    """A prepared run: preflight passed, run directory created or reopened and locked, results store open.

    Usage (library)::

        run = EvaluationRun.prepare(cfg, Path("runs/x"))          # or resume=True on an existing dir
        with run:
            summary = run.execute()

    ``kind`` picks what is run (:data:`PROVE` by default; ``prover.fps.run.SOLVE`` for ``prover solve``).
    """

    cfg: DictConfig
    run_dir: Path
    problems: list[Problem]
    load_report: LoadReport
    store: ResultStore
    lock: RunDirLock
    run_fields: dict[str, Any]
    container: dict[str, Any]
    worker: Any = None
    load_s: float = 0.0
    retried: list[str] = field(default_factory=list)
    kind: RunKind = PROVE
    executor: Any = None

    @classmethod
    def prepare(
        cls,
        cfg: DictConfig,
        run_dir: Path | None = None,
        *,
        kind: RunKind = PROVE,
        resume: bool = False,
        retry_errors: bool = False,
        save_trees: bool = False,
        command: Sequence[str] | None = None,
        on_skip: Callable[[str, str], None] | None = None,
    ) -> EvaluationRun:
        """Validate everything, then create (or, with ``resume``, reopen) ``run_dir`` and lock it.

        Raises :class:`SetupError` (``exit_code`` 2: bad config or input, 1: broken environment) or
        :class:`RunLocked`; in both cases no result line was written.
        """
        if resume and run_dir is None:
            raise SetupError("resume needs the run directory")
        if run_dir is None:
            run_dir = new_run_dir(
                Path(str(cfg.get("runs_dir", "runs"))), str(cfg.benchmark.name), kind.label(cfg)
            )
        if not resume:
            check_new_run_dir(run_dir)
        elif not save_trees:
            # a run started with --save-trees keeps saving them when resumed, or the problems finished after
            # the resume would drop out of critic labels, build-train --run and tree rendering
            save_trees = saves_trees(run_dir)
        limit = cfg.benchmark.get("limit")
        if limit is not None and (isinstance(limit, bool) or not str(limit).strip().isdigit()):
            raise SetupError(f"benchmark.limit must be a positive integer, got {limit!r}")
        try:
            problems, report = kind.load(cfg.benchmark)
        except Exception as exc:
            raise SetupError(
                f"benchmark: {_first_line(exc)}", 2 if isinstance(exc, ValueError) else 1
            ) from None
        for name, reason in report.skipped:
            if on_skip:
                on_skip(name, reason)
        if not problems:
            raise SetupError("the benchmark selection is empty")
        container = as_plain_dict(cfg, "config")
        if save_trees:
            container["trees_dir"] = str((run_dir / "trees").resolve())
        search_node = container.get("search")
        if isinstance(search_node, dict) and search_node.get("name") == "whole_proof":
            # every judged sample is journaled here, so a killed run resumes per sample (search.whole_proof)
            search_node["journal_dir"] = str((run_dir / "samples").resolve())
        if kind.validate is not None:
            try:
                kind.validate(container)
            except Exception as exc:
                raise SetupError(_first_line(exc), 2) from None
        try:
            from prover.evaluation.executors import make_executor

            executor = make_executor(cfg.executor)
        except Exception as exc:
            raise SetupError(f"executor: {_first_line(exc)}", 2) from None

        lock = RunDirLock(run_dir, kind.command)
        if resume:
            lock.acquire()  # before the preflight, so a concurrent run is refused at once
        worker = None
        toolchain: dict[str, Any] | None = None
        try:
            try:
                store_probe = read_results(run_dir / RESULTS).records if resume else []
            except RunError as exc:
                raise SetupError(str(exc), 2) from None
            finished = {r.problem for r in store_probe if not (retry_errors and r.status == "error")}
            # None: a resume with nothing left, which builds no worker (no model, no Lean) and reaches no cluster
            first = next((p for p in problems if p.id not in finished), None)
            try:
                from prover.lean.factory import LeanUnavailable, preflight

                # backend.toolchain=auto: the benchmark's Lean release when it is built, else one sentence
                # naming the `make lean LEAN_VERSION=…` line; the chosen project goes to every worker and judge
                lean_version = benchmark_lean_version(cfg.benchmark)
                preflight(cfg.backend, lean_version=lean_version)
                toolchain = choose_toolchain(container["backend"], lean_version)
                _check_world(cfg.backend)
                if first is not None:
                    _connect_executor(executor)
            except (
                LeanUnavailable
            ) as exc:  # a scripted world is a file the user named: input, not environment
                raise SetupError(str(exc), 2 if cfg.backend.get("name") == "scripted" else 1) from None
            except (ValueError, TypeError) as exc:
                raise SetupError(_first_line(exc), 2) from None
            if first is None:
                load_s, versions = 0.0, saved_versions(run_dir, cfg.backend)
            else:
                worker, load_s, versions = _preflight(kind, container, executor, first.to_json(), cfg.backend)
            if not resume:
                create_run_dir(run_dir, cfg, lock)
            retried = _drop_errors(run_dir) if retry_errors else []
            try:
                store = ResultStore(run_dir)
            except RunError as exc:
                raise SetupError(str(exc), 2) from None
        except BaseException:
            if worker is not None:
                worker.close()
            _close_executor(executor)
            lock.release()
            raise
        run_fields = {
            "model": model_name(container["generator"]),
            "package": package_version(),
            **_versions(container["backend"]),
            **versions,  # what ran, not the pins
        }
        extra = kind.meta(container) if kind.meta is not None else {}
        write_run_meta(
            run_dir,
            {
                **run_fields,
                "benchmark": container["benchmark"],
                **extra,
                "created": time.time(),
                "command": list(command if command is not None else sys.argv),
                "load_s": round(load_s, 3),
                "save_trees": save_trees,
                **({"toolchain": toolchain} if toolchain else {}),
            },
        )
        if resume:
            note_resume(
                run_dir,
                {
                    "at": time.time(),
                    "command": list(command if command is not None else sys.argv),
                    "load_s": round(load_s, 3),
                    "retried_errors": retried,
                },
            )
        return cls(
            cfg,
            run_dir,
            problems,
            report,
            store,
            lock,
            run_fields,
            container,
            worker,
            load_s,
            retried,
            kind,
            executor,
        )

    def execute(self, on_record: Callable[[AttemptRecord], None] | None = None) -> ExecutionSummary:
        """Run every unfinished problem on the preflight's executor (and, inline, the preflight's worker)."""
        from prover.evaluation.executors import WorkerSpec, make_executor
        from prover.evaluation.runner import run_problems

        executor, self.executor = self.executor or make_executor(self.cfg.executor), None
        spec = WorkerSpec(self.kind.worker, self.container)
        worker, self.worker = self.worker, None
        try:
            return run_problems(
                self.problems, self.store, spec, executor, self.run_fields, on_record, worker=worker
            )
        finally:
            _close_executor(executor)

    def progress(self) -> RunProgress:
        """Counts over this run's selected problems, from the results written so far."""
        ids = {p.id for p in self.problems}
        done = [r for r in self.store.records if r.problem in ids]
        return RunProgress(
            total=len(self.problems),
            finished=len(done),
            solved=sum(r.proved for r in done),
            errors=[r.problem for r in done if r.status is ProofStatus.ERROR],
            budget=done[0].budget if done else None,
        )

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        _close_executor(self.executor)
        self.executor = None
        self.store.close()
        self.lock.release()

    def __enter__(self) -> EvaluationRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_world(backend: Any) -> None:
    """A scripted world is read here, in the driver, before any worker process starts: a malformed file is
    the user's input (exit 2, one sentence), found in a second rather than after a process pool has spawned."""
    if backend.get("name") != "scripted" or not backend.get("world"):
        return
    from prover.lean.doubles.world import World, WorldError
    from prover.lean.factory import world_path

    try:
        World.load(world_path(str(backend.get("world"))))
    except WorldError as exc:
        raise SetupError(str(exc), 2) from None


def saved_versions(run_dir: Path, backend_cfg: Any) -> dict[str, Any]:
    """What ran for the results already in ``run_dir`` (``run.json``'s backend, Lean, Mathlib, judge and sandbox
    fields), for a resume that runs nothing; the config's own account where the file lacks them."""
    from prover.evaluation.versions import run_versions

    fields = run_versions(backend_cfg)
    meta = read_run_meta(run_dir)
    return {key: meta.get(key, value) for key, value in fields.items()}


def saves_trees(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` saves its search trees (``run.json``'s ``save_trees``; runs written before
    that key: a ``trees/`` folder)."""
    meta = read_run_meta(run_dir)
    if isinstance(meta.get("save_trees"), bool):
        return bool(meta["save_trees"])
    return (run_dir / "trees").is_dir()


def _preflight(
    kind: RunKind, container: dict[str, Any], executor: Any, job: dict[str, Any], backend_cfg: Any
) -> tuple[Any, float, dict[str, Any]]:
    """Build one worker and start one session on ``job``, where the run will use it.

    A process pool does it in its own first process (kept for the run: the model loads once there, never in
    the driver); otherwise the driver builds the worker, which an inline executor then uses. Returns the
    driver's worker (None for a pool), the load seconds and the versions of the backend that ran.
    """
    from prover.evaluation.executors import ExecutorConfigError, WorkerSpec, worker_preflight, worker_versions

    spec = WorkerSpec(kind.worker, container)
    if hasattr(executor, "preflight"):
        info = executor.preflight(spec, job, backend_cfg)
        if "error" in info:
            raise SetupError(str(info["error"]), int(info.get("exit_code", 1)))
        return None, float(info["load_s"]), dict(info["versions"])
    try:
        worker = spec.build()
    except Exception as exc:
        raise SetupError(_first_line(exc), 2) from None
    try:
        load_s = worker_preflight(worker)(job)
    except ExecutorConfigError as exc:
        worker.close()
        raise SetupError(str(exc), 2) from None
    except BaseException:
        worker.close()
        raise
    return worker, load_s, worker_versions(worker, backend_cfg)


def _connect_executor(executor: Any) -> None:
    """Reach the executor's cluster (Ray) before the run directory is created; unreachable is one sentence."""
    from prover.evaluation.executors import ExecutorError

    connect = getattr(executor, "connect", None)
    if connect is None:
        return
    try:
        connect()
    except ExecutorError as exc:
        raise SetupError(f"executor: {_first_line(exc)}", 1) from None


def _close_executor(executor: Any) -> None:
    close = getattr(executor, "close", None)
    if callable(close):
        close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_new_run_dir(run_dir: Path) -> None:
    """A new run needs a directory that does not hold a run (or is not a file); say which, in one line."""
    if run_dir.exists() and not run_dir.is_dir():
        raise SetupError(f"--out {run_dir} exists and is not a directory")
    if (run_dir / RESULTS).exists() or (run_dir / CONFIG).exists():
        raise SetupError(f"{run_dir} already holds a run; use --resume {run_dir} to continue it")
    parent = next((p for p in [run_dir, *run_dir.parents] if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SetupError(f"cannot create the run directory {run_dir}: {parent} is not writable")
    try:  # os.access says yes to root everywhere, and /proc or a read-only mount refuse anyway: try, before
        # the preflight loads a model for minutes
        Path(tempfile.mkdtemp(prefix=".prover-probe-", dir=parent)).rmdir()
    except OSError as exc:
        raise SetupError(
            f"cannot create the run directory {run_dir}: {parent}: {exc.strerror or exc}"
        ) from None


def create_run_dir(run_dir: Path, cfg: DictConfig, lock: RunDirLock) -> None:
    """Create the directory, lock it, and write ``config.yaml`` atomically (a torn config blocks every resume)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        if (run_dir / CONFIG).exists():  # another run took this directory while we were preflighting
            raise SetupError(f"{run_dir} already holds a run; use --resume {run_dir} to continue it")
        tmp = run_dir / (CONFIG + ".tmp")
        tmp.write_text(OmegaConf.to_yaml(cfg), encoding="utf-8")
        tmp.replace(run_dir / CONFIG)
    except OSError as exc:
        raise SetupError(f"cannot create the run directory {run_dir}: {exc.strerror or exc}", 2) from None


def _drop_errors(run_dir: Path) -> list[str]:
    """Move ``error`` records to ``errors-retried.jsonl`` so those problems run again (one line per problem)."""
    path = run_dir / RESULTS
    if not path.is_file():
        return []
    lines = path.read_bytes().split(b"\n")
    tail = lines.pop()
    keep: list[bytes] = []
    errors: list[bytes] = []
    retried: list[str] = []
    for raw in lines:
        if not raw.strip():
            continue
        try:
            record = AttemptRecord.from_line(raw)
        except ValueError as exc:
            raise SetupError(f"{path}: corrupt result line: {_first_line(exc)}") from None
        if record.status is ProofStatus.ERROR:
            errors.append(raw)
            retried.append(record.problem)
        else:
            keep.append(raw)
    if not errors:
        return []
    with (run_dir / RETRIED).open("ab") as fh:
        fh.write(b"".join(line + b"\n" for line in errors))
        fh.flush()
        os.fsync(fh.fileno())
    tmp = run_dir / (RESULTS + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(b"".join(line + b"\n" for line in keep) + (tail if tail.strip() else b""))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return retried
