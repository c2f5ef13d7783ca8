"""``ReplSession``: the Lean session over a pool of REPL processes.

A REPL ``proofState`` id lives in exactly one process and dies with it. A state's handle therefore names its
home process, that process's generation and the id; when the home process has restarted (timeout, crash,
memory, ``restart_every``) the state is rebuilt by replaying ``state.path`` from the theorem's root, reusing
the longest prefix already known in that process.

Batches are run by one thread per process pulling steps from a shared list: each process takes the step
that is cheapest for it, where cost is 1 on a process that holds the state and ``1 + replay length``
elsewhere. A process therefore works on its own states first and then steals the others' (a stolen step
replays its path once; the rebuilt prefix is remembered, so its siblings and children are cheap there). A
search on a single theorem spreads over all processes, and a slow or hanging tactic delays only itself: the
other processes drain the rest of the batch meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.lean.protocol import Response
from prover.lean.repl_process import ReplCrash, ReplFailure, ReplProcess, ReplStartError, ReplTimeout
from prover.lean.session import LeanSession
from prover.lean.types import (
    Crash,
    ProofFinished,
    StartResult,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
    Timeout,
    Verdict,
)

log = logging.getLogger(__name__)
_CACHE_LIMIT = 200_000
_UNSTARTED_COST = 20  # a process that must (re)start and import the header first is worth avoiding


@dataclass(frozen=True)
class ReplHandle:
    """Backend-private part of a ``TacticState``: where its proof state lives."""

    process: int
    generation: int
    proof_state: int


@dataclass
class ReplConfig:
    """The ``backend=repl`` configuration (configs/backend/repl.yaml), validated."""

    command: list[str]
    project_dir: Path = Path(".")
    header: str = "import Mathlib\n"
    tactic_timeout_s: float = 10.0
    start_timeout_s: float = 300.0
    max_rss_mb: float | None = None
    restart_every: int | None = None
    pool_size: int = 1
    env: dict[str, str] | None = None
    guard: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> ReplConfig:
        command = cfg.get("command")
        if isinstance(command, str) or not command:
            raise ValueError("backend.command must be a non-empty list (argv), e.g. [lake, env, repl]")
        size = cfg.get("pool_size", 1)
        pool_size = auto_pool_size() if size in (None, "auto") else int(size)
        if pool_size < 1:
            raise ValueError(f"backend.pool_size must be >= 1 or 'auto', got {size!r}")
        timeout = float(cfg.get("tactic_timeout_s", 10.0))
        if timeout <= 0:
            raise ValueError("backend.tactic_timeout_s must be positive")
        return cls(
            command=[str(c) for c in command],
            project_dir=Path(str(cfg.get("project_dir", "."))),
            header=str(cfg.get("header", "import Mathlib\n")),
            tactic_timeout_s=timeout,
            start_timeout_s=float(cfg.get("start_timeout_s", 300.0)),
            max_rss_mb=float(cfg["max_rss_mb"]) if cfg.get("max_rss_mb") else None,
            restart_every=int(cfg["restart_every"]) if cfg.get("restart_every") else None,
            pool_size=pool_size,
            guard=dict(cfg.get("guard") or {}),
        )


def auto_pool_size(gb_per_process: float = 8.0) -> int:
    """min(cores, available memory / 8 GB): a Mathlib REPL needs several GB resident."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    avail_gb = _available_memory_gb()
    by_memory = int(avail_gb // gb_per_process) if avail_gb else cores
    return max(1, min(cores, by_memory))


def _available_memory_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return 0.0


def _lives_in(handle: object, process: int, generation: int) -> bool:
    return isinstance(handle, ReplHandle) and handle.process == process and handle.generation == generation


class _Worker:
    def __init__(self, index: int, process: ReplProcess) -> None:
        self.index = index
        self.process = process
        self.lock = threading.Lock()


class ReplSession(LeanSession):
    """A ``LeanSession`` over ``pool_size`` REPL processes, each reused for many theorems."""

    def __init__(
        self, config: ReplConfig | Mapping[str, Any], *, verify_options: Mapping[str, Any] | None = None
    ) -> None:
        self.config = config if isinstance(config, ReplConfig) else ReplConfig.from_mapping(config)
        cfg = self.config
        self.verify_options = dict(verify_options or {})
        self.workers = [
            _Worker(
                i,
                ReplProcess(
                    cfg.command,
                    cfg.project_dir,
                    timeout_s=cfg.tactic_timeout_s,
                    start_timeout_s=cfg.start_timeout_s,
                    max_rss_mb=cfg.max_rss_mb,
                    restart_every=cfg.restart_every,
                    env=cfg.env,
                ),
            )
            for i in range(cfg.pool_size)
        ]
        self._known: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._known_lock = threading.Lock()
        self._next = 0
        self._pool = ThreadPoolExecutor(max_workers=cfg.pool_size, thread_name_prefix="repl")
        self._warmed = False
        self._install_guard()

    def _install_guard(self) -> None:
        try:
            from prover.lean import guard as guard_module
        except ImportError:
            return
        make = getattr(guard_module, "make_tactic_guard", None)
        if make is not None and self.config.guard:
            self.tactic_guard = make(self.config.guard)

    # --- pool management --------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start every process and elaborate the default header, all in parallel (imports take minutes)."""
        if self._warmed:
            return
        self._warmed = True

        def warm(worker: _Worker) -> None:
            with worker.lock:
                try:
                    worker.process.header_env(self.config.header)
                except ReplFailure as exc:
                    log.warning("REPL process %d failed to start: %s", worker.index, exc)

        list(self._pool.map(warm, self.workers))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for w in self.workers:
            with w.lock:
                w.process.kill()

    @property
    def restarts(self) -> int:
        return sum(w.process.restarts for w in self.workers)

    # --- state bookkeeping ------------------------------------------------------------------------
    @staticmethod
    def _theorem_key(theorem: Theorem) -> tuple[str, str]:
        return (theorem.header, theorem.statement)

    def _remember(self, worker: _Worker, theorem: Theorem, path: tuple[str, ...], proof_state: int) -> None:
        key = (worker.index, worker.process.generation, self._theorem_key(theorem), path)
        with self._known_lock:
            self._known[key] = proof_state
            self._known.move_to_end(key)
            while len(self._known) > _CACHE_LIMIT:
                self._known.popitem(last=False)

    def _lookup(self, worker: _Worker, theorem: Theorem, path: tuple[str, ...]) -> int | None:
        key = (worker.index, worker.process.generation, self._theorem_key(theorem), path)
        with self._known_lock:
            return self._known.get(key)

    def _longest_known_prefix(self, worker: _Worker, state: TacticState) -> tuple[int, int | None]:
        """(length, proofState) of the longest prefix of ``state.path`` alive in ``worker`` (-1: no root)."""
        handle = state.handle
        if (
            isinstance(handle, ReplHandle)
            and handle.process == worker.index
            and handle.generation == worker.process.generation
        ):
            return len(state.path), handle.proof_state
        for k in range(len(state.path), -1, -1):
            ps = self._lookup(worker, state.theorem, state.path[:k])
            if ps is not None:
                return k, ps
        return -1, None

    def _cost(self, worker: _Worker, state: TacticState) -> int:
        known, _ = self._longest_known_prefix(worker, state)
        replay = len(state.path) - known if known >= 0 else len(state.path) + 1
        return 1 + replay + (0 if worker.process.alive else _UNSTARTED_COST)

    # --- hooks --------------------------------------------------------------------------------------
    def _start(self, theorem: Theorem) -> StartResult:
        self.warm_up()
        worker = self._pick_worker()
        with worker.lock:
            try:
                result = self._start_on(worker, theorem)
            except ReplTimeout as exc:
                return Timeout(exc.seconds)
            except ReplStartError as exc:
                return TacticError((str(exc),))
            except ReplCrash as exc:
                return Crash(str(exc))
        if isinstance(result, TacticError):
            return result
        proof_state, goal = result
        return TacticState(
            (goal,), theorem, (), ReplHandle(worker.index, worker.process.generation, proof_state)
        )

    def _pick_worker(self) -> _Worker:
        """A free process if there is one (rotating), else the next in turn."""
        n = len(self.workers)
        start, self._next = self._next, (self._next + 1) % n
        for k in range(n):
            w = self.workers[(start + k) % n]
            if not w.lock.locked() and w.process.alive:
                return w
        return self.workers[start]

    def _start_on(self, worker: _Worker, theorem: Theorem) -> tuple[int, str] | TacticError:
        """Elaborate ``statement := by sorry`` on the header env; the last sorry is the root goal."""
        env = worker.process.header_env(theorem.header)
        cmd: dict[str, Any] = {"cmd": f"{theorem.statement} := by sorry"}
        if env is not None:
            cmd["env"] = env
        resp = worker.process.request(cmd, timeout=max(self.config.tactic_timeout_s, 60.0))
        if not resp.ok:
            return TacticError(resp.errors)
        usable = [s for s in resp.sorries if s.proof_state is not None]
        if not usable:
            return TacticError((f"{theorem.name}: Lean opened no proof state for the statement",))
        root = usable[-1]
        assert root.proof_state is not None
        self._remember(worker, theorem, (), root.proof_state)
        return root.proof_state, root.goal

    def _run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        return self._run_tactics([(state, tactic)])[0]

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        if not steps:
            return []
        self.warm_up()
        results: list[TacticResult | None] = [None] * len(steps)
        pending = list(range(len(steps)))
        pending_lock = threading.Lock()

        def take(worker: _Worker) -> int | None:
            """The pending step cheapest for ``worker`` (its own states first, then the cheapest to steal)."""
            with pending_lock:
                if not pending:
                    return None
                gen = worker.process.generation
                own = (i for i in pending if _lives_in(steps[i][0].handle, worker.index, gen))
                best = next(own, None)
                if best is None:
                    best = min(pending, key=lambda i: self._cost(worker, steps[i][0]))
                pending.remove(best)
                return best

        def drain(worker: _Worker) -> None:
            with worker.lock:
                while (i := take(worker)) is not None:
                    results[i] = self._step_on(worker, *steps[i])

        workers = self.workers
        if len(steps) < len(workers):
            # fewer steps than processes: use the processes that already hold the states
            ranked = sorted(self.workers, key=lambda w: sum(self._cost(w, st) for st, _ in steps))
            workers = ranked[: len(steps)]
        if len(workers) == 1:
            drain(workers[0])
        else:
            for fut in [self._pool.submit(drain, w) for w in workers]:
                fut.result()
        return [r if r is not None else Crash("internal: step not run") for r in results]

    def _step_on(self, worker: _Worker, state: TacticState, tactic: str) -> TacticResult:
        try:
            proof_state = self._materialise(worker, state)
            if not isinstance(proof_state, int):
                return proof_state
            resp = worker.process.request({"tactic": tactic, "proofState": proof_state})
        except ReplTimeout as exc:
            return Timeout(exc.seconds)
        except ReplFailure as exc:
            return Crash(str(exc))
        return self._tactic_result(worker, state, tactic, resp)

    def _materialise(self, worker: _Worker, state: TacticState) -> int | TacticResult:
        """The proofState id of ``state`` in ``worker``, replaying its path from the longest known prefix."""
        worker.process.ensure_started()
        known, proof_state = self._longest_known_prefix(worker, state)
        if known < 0:
            started = self._start_on(worker, state.theorem)
            if isinstance(started, TacticError):
                return Crash(f"cannot rebuild the state: the theorem no longer starts: {started.messages}")
            known, proof_state = 0, started[0]
        for k in range(known, len(state.path)):
            resp = worker.process.request({"tactic": state.path[k], "proofState": proof_state})
            if not resp.ok or resp.proof_state is None:
                return Crash(f"cannot rebuild the state: replaying {state.path[k]!r} failed: {resp.errors}")
            proof_state = resp.proof_state
            self._remember(worker, state.theorem, state.path[: k + 1], proof_state)
        assert proof_state is not None
        return proof_state

    def _tactic_result(
        self, worker: _Worker, state: TacticState, tactic: str, resp: Response
    ) -> TacticResult:
        if not resp.ok:
            return TacticError(resp.errors or ("Lean reported an error",))
        path = (*state.path, tactic)
        if resp.complete:
            notes = tuple(m.render() for m in resp.messages)
            return ProofFinished(state.theorem, path, notes)
        if resp.goals is None or resp.proof_state is None:
            return Crash(f"REPL answered a tactic without a proof state: {resp.raw}")
        if not resp.goals:
            return TacticError((f"no goals left but the proof is not complete: {resp.proof_status}",))
        if resp.proof_status and "sorry" in resp.proof_status:
            return TacticError((f"tactic left the proof incomplete: {resp.proof_status}",))
        self._remember(worker, state.theorem, path, resp.proof_state)
        handle = ReplHandle(worker.index, worker.process.generation, resp.proof_state)
        return TacticState(tuple(resp.goals), state.theorem, path, handle)

    # --- whole commands and verification ------------------------------------------------------------
    def run_command(self, command: str, header: str | None = None, timeout: float | None = None) -> Response:
        """Elaborate ``command`` in a fresh env on top of ``header``; raises ``ReplFailure`` on timeout/crash.

        Every call starts from the header's env (envs are immutable), so commands cannot see each other.
        """
        self.warm_up()
        worker = self._pick_worker()
        with worker.lock:
            env = worker.process.header_env(self.config.header if header is None else header)
            cmd: dict[str, Any] = {"cmd": command}
            if env is not None:
                cmd["env"] = env
            limit = timeout if timeout is not None else max(self.config.tactic_timeout_s, 60.0)
            return worker.process.request(cmd, timeout=limit)

    def command_runner(self, header: str) -> Callable[[str], Response]:
        return lambda command: self.run_command(command, header=header)

    def _verify(self, theorem: Theorem, proof: str) -> Verdict:
        from prover.lean.verify import verify_proof

        return verify_proof(
            theorem, proof, run_command=self.command_runner(theorem.header), options=self.verify_options
        )
