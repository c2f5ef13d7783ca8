"""``WorldSession``: a scripted world as a ``LeanSession`` in-process, for unit tests and search benchmarks.

Same transitions (``step``) and the same verification (``verify_proof`` over a ``WorldServer`` per command
runner) as the world server behind ``ReplSession``, without a subprocess.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prover.lean.doubles.server import WorldServer
from prover.lean.doubles.world import World, normalise_tactic, step
from prover.lean.guard import GuardOptions, make_tactic_guard
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


@dataclass(frozen=True)
class _WorldHandle:
    used_sorry: bool = False


class WorldSession(LeanSession):
    """The scripted world as a ``LeanSession`` without a subprocess: same transitions, same verification.

    A ``delay_ms`` longer than ``tactic_timeout_s`` gives ``Timeout`` after waiting the timeout. With
    ``real_sleep=False`` nothing sleeps: the time is added to ``simulated_seconds`` instead, so search
    benchmarks can model slow tactics at no wall-clock cost. ``pool_size > 1`` runs batches on threads.
    """

    def __init__(
        self,
        world: World | str | os.PathLike[str],
        *,
        tactic_timeout_s: float = 2.0,
        real_sleep: bool = True,
        pool_size: int = 1,
        guard: GuardOptions | Mapping[str, Any] | None = None,
    ) -> None:
        self.world = world if isinstance(world, World) else World.load(world)
        self.source = "<in-memory world>" if isinstance(world, World) else str(world)
        self.tactic_timeout_s = float(tactic_timeout_s)
        self.real_sleep = real_sleep
        self.pool_size = max(1, int(pool_size))
        self.simulated_seconds = 0.0
        self.tactics_run = 0
        self._executor: ThreadPoolExecutor | None = None
        self.guard_options = GuardOptions.from_config(guard)  # a bad key fails here, not at verify time
        self.tactic_guard = make_tactic_guard(self.guard_options)

    def _wait(self, delay_ms: int) -> bool:
        """Spend ``delay_ms`` (at most the timeout); True when the step ran past the timeout."""
        seconds = delay_ms / 1000
        spent = min(seconds, self.tactic_timeout_s)
        if spent > 0:
            if self.real_sleep:
                time.sleep(spent)
            else:
                self.simulated_seconds += spent
        return seconds > self.tactic_timeout_s

    def _start(self, theorem: Theorem) -> StartResult:
        spec = self.world.find_theorem(theorem.name, theorem.statement)
        if spec is None:
            return TacticError((f"{theorem.name}: the statement is not in the scripted world",))
        return TacticState(tuple(spec.goals), theorem, (), _WorldHandle())

    def _run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        self.tactics_run += 1
        out = step(self.world, state.goals, tactic)
        if self._wait(out.delay_ms):
            return Timeout(self.tactic_timeout_s)
        if out.crash:
            return Crash(f"scripted world: tactic {normalise_tactic(tactic)!r} crashed the process")
        if out.error is not None:
            return TacticError((out.error,))
        path = (*state.path, tactic)
        used_sorry = out.used_sorry or (isinstance(state.handle, _WorldHandle) and state.handle.used_sorry)
        if not out.goals:
            if used_sorry:
                return TacticError(("the proof is not complete: it contains sorry",))
            return ProofFinished(state.theorem, path)
        return TacticState(tuple(out.goals), state.theorem, path, _WorldHandle(used_sorry))

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]) -> list[TacticResult]:
        if self.pool_size == 1 or len(steps) <= 1:
            return [self._run_tactic(s, t) for s, t in steps]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.pool_size, thread_name_prefix="world")
        return list(self._executor.map(lambda st: self._run_tactic(*st), steps))

    def _verify(self, theorem: Theorem, proof: str) -> Verdict:
        from prover.lean.verify import verify_proof

        return verify_proof(
            theorem, proof, run_command=self.command_runner(theorem.header), options=self.guard_options
        )

    def command_runner(self, header: str) -> Callable[..., Any]:
        """As ``ReplSession.command_runner``: ``run(cmd)`` on ``header``'s env, ``run(cmd, env=N)`` on an env
        an earlier call returned (one world server per runner, so its env ids stay meaningful)."""
        from prover.lean.protocol import CommandRequest, Response

        server = WorldServer(self.world)
        header_env: list[int] = []

        def run(command: str, env: int | None = None) -> Response:
            if env is None and header.strip():
                if not header_env:
                    base = server.handle(CommandRequest(header)).response
                    assert base is not None
                    header_env.append(int(base["env"]))
                env = header_env[0]
            reply = server.handle(CommandRequest(command, env=env))
            if self._wait(reply.delay_ms):
                raise TimeoutError(f"the command ran past {self.tactic_timeout_s}s")
            if reply.crash or reply.response is None:
                raise RuntimeError("scripted world: the command crashed the process")
            return Response.from_json(reply.response)

        return run

    def describe(self) -> dict[str, Any]:
        """A scripted world is a simulation: it names its file and claims no Lean or Mathlib version."""
        return {"backend": f"scripted world {self.source}", "lean": None, "mathlib": None}

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
