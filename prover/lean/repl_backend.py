"""``ReplSession``: the Lean session over a pool of REPL processes.

A REPL ``proofState`` id lives in exactly one process and dies with it. A state's handle therefore names its
home process, that process's generation and the id; when the home process has restarted (timeout, crash,
memory, ``restart_every``) the state is rebuilt by replaying ``state.path`` from the theorem's root, reusing
the longest prefix already known in that process.

Batches are run by one thread per process pulling steps from a ``_StepQueue``: each process takes the step
that is cheapest for it, where cost is 1 on a process that holds the state and ``1 + replay length``
elsewhere (a FIFO of its own states, then a heap per process for stealing: linear in the batch, not a rescan
of every pending step per take). A process therefore works on its own states first and then steals the others'
(a stolen step replays its path once; the rebuilt prefix is remembered, so its siblings and children are cheap
there). A search on a single theorem spreads over all processes, and a slow or hanging tactic delays only
itself: the other processes drain the rest of the batch meanwhile.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from prover.config import REPO_ROOT
from prover.errors import ConfigError
from prover.lean.guard import GuardOptions
from prover.lean.protocol import CommandRequest, Response, TacticRequest
from prover.lean.repl_process import ReplCrash, ReplFailure, ReplProcess
from prover.lean.sandbox import Sandbox, SandboxLimits, SandboxMode, load_sandbox_limits, make_sandbox
from prover.lean.session import LeanSession
from prover.lean.spares import SparePool
from prover.lean.tactic_text import as_single_tactic
from prover.lean.types import (
    Crash,
    ProofFinished,
    StartResult,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
    Verdict,
)
from prover.settings import Settings, load_settings

log = logging.getLogger(__name__)
_CACHE_LIMIT = 200_000
#: How long ``ReplSession.close`` waits for a process's lock before killing that process without it.
CLOSE_LOCK_WAIT_S = 0.5
_UNSTARTED_COST = 20  # a process that must (re)start and import the header first is worth avoiding


@dataclass(frozen=True)
class ReplHandle:
    """Backend-private part of a ``TacticState``: where its proof state lives."""

    process: int
    generation: int
    proof_state: int


class ReplClientSettings(Settings):
    """What every backend run by ``ReplSession`` accepts (``repl``, and ``scripted`` over a world server).

    Defaults are written here once; configs/backend/*.yaml mirror them (a test checks every file).
    """

    header: str = "import Mathlib\n"
    #: Our own per-command deadline (the REPL has none).
    tactic_timeout_s: PositiveFloat = 10.0
    #: Elaborating the header (``import Mathlib``) can take minutes on a cold cache.
    start_timeout_s: PositiveFloat = 300.0
    #: Restart a process whose resident memory grows past this (0 or null: no memory watch).
    max_rss_mb: NonNegativeFloat | None = 12000
    #: Restart after this many commands, as REPL memory grows (0 or null: never on count).
    restart_every: NonNegativeInt | None = 2000
    #: Number of REPL processes; ``auto`` (or null): from cores and memory, resolved when the config is loaded.
    pool_size: PositiveInt | None = None
    #: Per header in use, this many idle processes that have imported it: a timeout or crash restarts from
    #: one at once instead of importing again (``prover.lean.spares``; each is a whole Lean process).
    warm_spares: NonNegativeInt = 1
    #: Extra environment variables for the REPL processes (added to ours, or, in a sandbox, to its allow-list).
    env: dict[str, str] | None = None
    #: ``auto``: bubblewrap where it works, else refuse to elaborate (``prover.lean.sandbox``); ``none``: no sandbox.
    sandbox: SandboxMode = "auto"
    #: rlimits inside the sandbox (0: none); ``address_space_mb: auto`` is 4 x ``max_rss_mb``.
    sandbox_limits: SandboxLimits = Field(default_factory=SandboxLimits)
    #: More paths the sandboxed REPL may read (the project, the toolchain and Python are always there).
    sandbox_paths: list[Path] = Field(default_factory=list)
    guard: GuardOptions = Field(default_factory=GuardOptions)

    @field_validator("pool_size", mode="before")
    @classmethod
    def _auto(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() == "auto":
            return None
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError("expected a positive integer or 'auto'")
        return value


class ReplConfig(ReplClientSettings):
    """``backend=repl`` (configs/backend/repl.yaml), validated; ``pool_size`` is a number once loaded."""

    command: list[str] = Field(min_length=1)
    #: the Lean project the REPL runs in: by default the project root (``${repo:.}`` in the YAML), wherever
    #: ``prover`` was started; a relative path that does not exist here is read from the project root too
    project_dir: Path = REPO_ROOT
    #: ``auto``: the benchmark's Lean release when built (``prover.lean.toolchain``); ``project``: the pin here;
    #: or a release (``v4.15.0``) built by ``make lean LEAN_VERSION=...``.
    toolchain: str = "auto"

    @field_validator("project_dir")
    @classmethod
    def _project_dir(cls, value: Path) -> Path:
        path = value.expanduser()
        if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
            return REPO_ROOT / path
        return path

    @field_validator("toolchain")
    @classmethod
    def _toolchain(cls, value: str) -> str:
        from prover.lean.toolchain import normalise_version

        value = value.strip()
        return value if value in ("auto", "project") else normalise_version(value)

    @model_validator(mode="after")
    def _resolve(self) -> ReplConfig:
        """Zero means "off" for the limits; ``auto`` becomes a process count for this machine."""
        for key in ("max_rss_mb", "restart_every"):
            if getattr(self, key) == 0:
                object.__setattr__(self, key, None)
        if self.pool_size is None:
            object.__setattr__(self, "pool_size", auto_pool_size(reserve=self.warm_spares))
        return self

    @property
    def process_env(self) -> dict[str, str] | None:
        """The REPL processes' environment: ours plus ``env`` (None: ours unchanged)."""
        return {**os.environ, **self.env} if self.env else None

    @classmethod
    def from_mapping(cls, cfg: Any, group: str = "backend") -> ReplConfig:
        """Validate ``cfg``; raises :class:`ConfigError` (a ``ValueError``) with one line naming the key.

        ``command`` must be an argv list: a string is refused (never split, never given to a shell), with
        the list form to write instead.
        """
        if isinstance(cfg, ReplConfig):
            return cfg
        command = cfg.get("command") if isinstance(cfg, Mapping) else None
        if isinstance(command, str):
            example = "[" + ",".join(command.split()) + "]" if command.strip() else "[lake,env,repl]"
            raise ConfigError(
                f"{group}.command must be a list (argv), not the string {command!r}: write it as a list, "
                f"e.g. {group}.command='{example}' (it is never run through a shell)"
            )
        check_guard_block(cfg, group)
        return load_settings(cls, cfg, group, ignore=("name",))


def check_guard_block(cfg: Any, group: str = "backend") -> None:
    """Validate a backend config's ``guard:`` block on its own, so a typo there is named among the guard's
    options (``unknown guard option backend.guard.alow_native_decide (known guard options: …)``)."""
    if isinstance(cfg, Mapping) and isinstance(cfg.get("guard"), Mapping):
        GuardOptions.from_config(cfg["guard"], f"{group}.guard")
    if isinstance(cfg, Mapping) and isinstance(cfg.get("sandbox_limits"), Mapping):
        load_sandbox_limits(cfg["sandbox_limits"], f"{group}.sandbox_limits")


def auto_pool_size(gb_per_process: float = 8.0, reserve: int = 0) -> int:
    """min(cores, available memory / 8 GB - reserve): a Mathlib REPL needs several GB resident, and ``reserve``
    more processes (the warm spares) need memory too."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    avail_gb = _available_memory_gb()
    by_memory = int(avail_gb // gb_per_process) - reserve if avail_gb else cores
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


class _StepQueue:
    """Hands the steps of one batch to processes in O(n log n) total, whatever the number of takes.

    Each process has a FIFO of the steps whose state it holds (``owner``) and takes those first. A process
    with none left steals from its own heap of every step still pending, keyed by ``cost(process, step)``;
    the heap is built once, the first time that process steals, so ``cost`` is evaluated at most once per
    (process, step) at build time plus once per pop. Taken steps are skipped lazily. A popped step whose cost
    grew since it was keyed (its process restarted, a cached prefix was evicted) is re-keyed and pushed back.
    """

    def __init__(
        self,
        n: int,
        owner: Callable[[int], int | None],
        cost: Callable[[int, int], int],
        owns: Callable[[int, int], bool],
    ) -> None:
        self._n = n
        self._cost = cost
        self._owns = owns
        self._taken = [False] * n
        self._left = n
        self._own: dict[int, deque[int]] = {}
        for i in range(n):
            home = owner(i)
            if home is not None:
                self._own.setdefault(home, deque()).append(i)
        self._heaps: dict[int, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def take(self, process: int) -> int | None:
        """The next step for ``process``: its own states in input order, then the cheapest pending step."""
        with self._lock:
            if not self._left:
                return None
            own = self._own.get(process)
            while own:
                i = own.popleft()
                if not self._taken[i] and self._owns(process, i):
                    return self._mark(i)
            heap = self._heaps.get(process)
            if heap is None:
                heap = [(self._cost(process, i), i) for i in range(self._n) if not self._taken[i]]
                heapq.heapify(heap)
                self._heaps[process] = heap
            while heap:
                key, i = heapq.heappop(heap)
                if self._taken[i]:
                    continue
                now = self._cost(process, i)
                if now > key:
                    heapq.heappush(heap, (now, i))
                    continue
                return self._mark(i)
            return None

    def _mark(self, i: int) -> int:
        self._taken[i] = True
        self._left -= 1
        return i


class ReplSession(LeanSession):
    """A ``LeanSession`` over ``pool_size`` REPL processes, each reused for many theorems."""

    def __init__(
        self, config: ReplConfig | Mapping[str, Any], *, verify_options: Mapping[str, Any] | None = None
    ) -> None:
        self.config = config if isinstance(config, ReplConfig) else ReplConfig.from_mapping(config)
        cfg = self.config
        self.verify_options = dict(verify_options or {})
        #: every REPL of the pool runs in this sandbox (raises ``SandboxUnavailable`` before any process starts)
        self.sandbox: Sandbox = make_sandbox(
            cfg.sandbox,
            cfg.sandbox_limits,
            max_rss_mb=cfg.max_rss_mb,
            read_only=[cfg.project_dir, *cfg.sandbox_paths],
            env=cfg.env,
        )
        sandboxed = self.sandbox.mode != "none"

        def make_process(spares: SparePool[ReplProcess] | None = None) -> ReplProcess:
            return ReplProcess(
                cfg.command,
                cfg.project_dir,
                timeout_s=cfg.tactic_timeout_s,
                start_timeout_s=cfg.start_timeout_s,
                max_rss_mb=cfg.max_rss_mb,
                restart_every=cfg.restart_every,
                env=None if sandboxed else cfg.process_env,
                sandbox=self.sandbox,
                spares=spares,
            )

        #: warm spares per header (None when ``warm_spares`` is 0)
        self.spares: SparePool[ReplProcess] | None = (
            SparePool(make_process, cfg.warm_spares, wait_s=cfg.start_timeout_s) if cfg.warm_spares else None
        )
        self.workers = [_Worker(i, make_process(self.spares)) for i in range(cfg.pool_size or 1)]
        self._known: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._known_lock = threading.Lock()
        self._next = 0
        self._pool = ThreadPoolExecutor(max_workers=cfg.pool_size, thread_name_prefix="repl")
        self._warmed = False
        self._install_guard()
        self.guard_options()  # a bad guard key is a config error at construction, never at verify time

    def _install_guard(self) -> None:
        from prover.lean.guard import make_tactic_guard

        self.tactic_guard = make_tactic_guard(self.config.guard)

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
        """Kill every REPL process, then stop the pool's threads.

        A process whose lock a request still holds (a long tactic, or a request the closing thread itself was
        interrupted in, e.g. by SIGTERM) is not waited on for the request's whole timeout: after
        ``CLOSE_LOCK_WAIT_S`` its process group is SIGKILLed (``ReplProcess.interrupt``), so the request's
        read ends at EOF (a crash: fail-closed) and its thread cleans up and lets go of the lock."""
        for w in self.workers:
            locked = w.lock.acquire(timeout=CLOSE_LOCK_WAIT_S)
            if not locked:
                w.process.interrupt()
                locked = w.lock.acquire(timeout=CLOSE_LOCK_WAIT_S)
            if locked:  # else the holder is this very thread, interrupted: its group is dead already
                try:
                    w.process.kill()
                finally:
                    w.lock.release()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.spares is not None:
            self.spares.close()

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
            except ReplFailure as exc:
                return exc.as_result(starting=True)
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
        cmd = CommandRequest(f"{theorem.statement} := by sorry", env=env)
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
        by_index = {w.index: w for w in self.workers}

        def home(i: int) -> int | None:
            handle = steps[i][0].handle
            return handle.process if isinstance(handle, ReplHandle) else None

        def owns(process: int, i: int) -> bool:
            worker = by_index[process]
            return _lives_in(steps[i][0].handle, process, worker.process.generation)

        queue = _StepQueue(
            len(steps), home, lambda process, i: self._cost(by_index[process], steps[i][0]), owns
        )

        def drain(worker: _Worker) -> None:
            with worker.lock:
                while (i := queue.take(worker.index)) is not None:
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
            resp = worker.process.request(TacticRequest(as_single_tactic(tactic), proof_state))
        except ReplFailure as exc:
            return exc.as_result()
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
        assert proof_state is not None
        for k in range(known, len(state.path)):
            resp = worker.process.request(TacticRequest(as_single_tactic(state.path[k]), proof_state))
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
        To chain commands (``env`` of one answer into the next), use :meth:`command_runner`.
        """
        return self.command_runner(self.config.header if header is None else header, timeout)(command)

    def command_runner(self, header: str, timeout: float | None = None) -> CommandRunner:
        """A runner pinned to one process: ``runner(cmd)`` on the header's env, ``runner(cmd, env=N)`` on
        an env an earlier call of the same runner returned (env ids live in one process)."""
        self.warm_up()
        return CommandRunner(self, header, timeout)

    def describe(self) -> dict[str, Any]:
        """Ask the running Lean its version (our own trusted command, not a tactic: no guard); Mathlib is read
        by callers from ``project_dir``'s lake manifest."""
        from prover.lean.session import LEAN_VERSION_COMMAND, lean_version_from

        try:
            lean = lean_version_from(self.run_command(LEAN_VERSION_COMMAND, header="", timeout=60.0))
        except Exception:  # a REPL that cannot answer: say so, never guess
            lean = "unknown"
        from prover.lean.toolchain import project_version

        return {
            "backend": "repl",
            "lean": lean,
            "project_dir": str(self.config.project_dir),
            #: the release ``project_dir`` pins (``backend.toolchain`` chose it); ``lean`` is what answered
            "toolchain": project_version(Path(self.config.project_dir)),
            "sandbox": self.sandbox.describe(),
            "warm_spares": self.config.warm_spares,
        }

    def guard_options(self) -> GuardOptions:
        """The ``guard:`` options (config, then ``verify_options``) that ``verify`` applies, validated."""
        return GuardOptions.from_config({**self.config.guard.model_dump(), **self.verify_options})

    def _verify(self, theorem: Theorem, proof: str) -> Verdict:
        from prover.lean.verify import verify_proof

        options = self.guard_options()
        # once more when the process restarted (memory cap, restart_every) in the middle of a verification
        for _ in range(2):
            runner = self.command_runner(theorem.header)
            verdict = verify_proof(theorem, proof, run_command=runner, options=options)
            if verdict.accepted or not runner.lost_env:
                break
        return verdict


class CommandRunner:
    """Elaborates commands on ONE process of a ``ReplSession``, so one answer's ``env`` is valid in the next.

    A restart of that process (timeout, crash, memory, ``restart_every``) between two calls kills its envs;
    a later call on such an env raises ``ReplCrash`` instead of elaborating on whatever env has that number in
    the new process.
    """

    def __init__(self, session: ReplSession, header: str, timeout: float | None = None) -> None:
        self.session = session
        self.header = header
        self.timeout = timeout if timeout is not None else max(session.config.tactic_timeout_s, 60.0)
        self._worker: _Worker | None = None
        self._generation: int | None = None
        self._envs: set[int] = set()
        #: True once a call named an env that died with a restart (the caller may start over).
        self.lost_env = False

    def __call__(self, command: str, env: int | None = None) -> Response:
        try:
            return self._run(command, env)
        except _Restarted:
            if env is not None:
                raise
            return self._run(command, env)  # a scheduled restart (restart_every) hit this command: once more

    def _run(self, command: str, env: int | None) -> Response:
        if self._worker is None:
            self._worker = self.session._pick_worker()
        worker = self._worker
        with worker.lock:
            process = worker.process
            if env is None:
                base = process.header_env(self.header)
                if self._generation != process.generation:
                    self._generation, self._envs = process.generation, set()
            else:
                if env not in self._envs or self._generation != process.generation or not process.alive:
                    self.lost_env = True
                    raise ReplCrash(f"env {env} is gone: the REPL process restarted since it was made")
                base = env
            generation = process.generation
            response = process.request(CommandRequest(command, env=base), timeout=self.timeout)
            if process.generation != generation:
                self.lost_env = env is not None
                raise _Restarted("the REPL process restarted before elaborating the command")
            if response.env is not None:
                self._envs.add(response.env)
            return response


class _Restarted(ReplCrash):
    """The process restarted between choosing an env and elaborating on it."""
