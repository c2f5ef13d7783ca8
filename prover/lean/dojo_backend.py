"""LeanDojo backend: a ``LeanSession`` over ``lean_dojo.Dojo`` for theorems of a traced repository.

Kept small on purpose: LeanDojo is deprecated in favour of a Pantograph-based v2, and the REPL backend is the
default. It exists for users with traced LeanDojo repositories (ReProver-style evaluation).

The one subtle part is recovery. After a ``DojoTacticTimeoutError`` every later tactic on the same ``Dojo``
times out too (a known LeanDojo problem), so a timeout closes that Dojo; the next step on the theorem opens a
fresh one and rebuilds the state it needs by replaying ``state.path`` from the root (states are
per-Dojo ids, so each handle carries the generation of the Dojo it belongs to).
"""

from __future__ import annotations

import contextlib
import importlib
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, PositiveFloat, field_validator

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
from prover.settings import Settings, load_settings


class DojoSettings(Settings):
    """``backend=dojo`` (configs/backend/dojo.yaml mirrors the defaults); the traced repository is required."""

    repo_url: str = Field(min_length=1)
    commit: str = Field(min_length=1)
    file_path: str = Field(min_length=1)
    tactic_timeout_s: PositiveFloat = 10.0
    guard: GuardOptions = Field(default_factory=GuardOptions)

    @field_validator("commit")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value.strip() in ("main", "master", "HEAD", "latest"):
            raise ValueError("a branch name floats: give a commit hash or a tag of the traced repository")
        return value


DOJO_VERIFY_NOTE = "LeanDojo backend: proof replayed in LeanDojo's traced file; '#print axioms' was not run"


@dataclass
class _Entry:
    """One open Dojo for one theorem, and the LeanDojo states it has produced, keyed by tactic path."""

    dojo: Any
    generation: int
    states: dict[tuple[str, ...], Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DojoHandle:
    generation: int


class DojoSession(LeanSession):
    """Theorems are looked up by ``Theorem.name`` in ``file_path`` of ``repo_url``@``commit``."""

    def __init__(self, cfg: DojoSettings | Mapping[str, Any]) -> None:
        if (
            not isinstance(cfg, DojoSettings)
            and isinstance(cfg, Mapping)
            and isinstance(cfg.get("guard"), Mapping)
        ):
            GuardOptions.from_config(cfg["guard"], "backend.guard")  # named among the guard's options
        settings = load_settings(DojoSettings, cfg, "backend", ignore=("name",))
        try:
            self._ld = importlib.import_module("lean_dojo")
        except ImportError as exc:
            raise ValueError(f"backend=dojo needs the lean-dojo package: {exc}") from exc
        self.settings = settings
        self.repo_url = settings.repo_url
        self.commit = settings.commit
        self.file_path = Path(settings.file_path)
        self.timeout_s = max(1, int(settings.tactic_timeout_s))
        self._repo: Any = None
        self._entries: dict[str, _Entry] = {}
        self._generations = 0
        self.guard_options = settings.guard
        self.tactic_guard = make_tactic_guard(settings.guard)

    # --- Dojo lifecycle ---------------------------------------------------------------------------
    def _open(self, theorem: Theorem) -> _Entry:
        ld = self._ld
        if self._repo is None:
            self._repo = ld.LeanGitRepo(self.repo_url, self.commit)
        dojo = ld.Dojo(ld.Theorem(self._repo, self.file_path, theorem.name), timeout=self.timeout_s)
        _, init_state = dojo.__enter__()
        self._generations += 1
        entry = _Entry(dojo, self._generations, {(): init_state})
        self._entries[theorem.name] = entry
        return entry

    def _discard(self, name: str) -> None:
        entry = self._entries.pop(name, None)
        if entry is not None:
            with contextlib.suppress(Exception):  # the process may already be gone
                entry.dojo.__exit__(None, None, None)

    def describe(self) -> dict[str, Any]:
        """LeanDojo's package version and the traced repository at its pinned commit."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            dojo = version("lean-dojo")
        except PackageNotFoundError:
            dojo = "unknown"
        return {
            "backend": f"dojo (LeanDojo {dojo}) {self.repo_url}@{self.commit}",
            "lean": "unknown",
            "mathlib": "unknown",
            "lean_dojo": dojo,
            "repo_url": self.repo_url,
            "commit": self.commit,
        }

    def close(self) -> None:
        for name in list(self._entries):
            self._discard(name)

    # --- session hooks ----------------------------------------------------------------------------
    def _start(self, theorem: Theorem) -> StartResult:
        self._discard(theorem.name)
        try:
            entry = self._open(theorem)
        except self._ld.DojoTacticTimeoutError:
            return Timeout(float(self.timeout_s))
        except Exception as exc:  # DojoInitError, tracing errors, unknown theorem...
            return TacticError((f"LeanDojo cannot start {theorem.name}: {type(exc).__name__}: {exc}",))
        return TacticState(_goals(entry.states[()]), theorem, (), DojoHandle(entry.generation))

    def _run_tactic(self, state: TacticState, tactic: str) -> TacticResult:
        ld = self._ld
        name = state.theorem.name
        try:
            entry = self._entries.get(name) or self._open(state.theorem)
            base = self._materialise(entry, state)
            if isinstance(base, Crash):
                return base
            result = entry.dojo.run_tac(base, tactic)
        except ld.DojoTacticTimeoutError:
            self._discard(name)  # this Dojo would time out on every later tactic
            return Timeout(float(self.timeout_s))
        except Exception as exc:  # DojoCrashError (incl. OOM), a dead process
            self._discard(name)
            return Crash(f"LeanDojo: {type(exc).__name__}: {exc}")
        path = (*state.path, tactic)
        if isinstance(result, ld.TacticState):
            entry.states[path] = result
            return TacticState(_goals(result), state.theorem, path, DojoHandle(entry.generation))
        if isinstance(result, ld.ProofFinished):
            return ProofFinished(state.theorem, path, (result.message,) if result.message else ())
        if isinstance(result, ld.ProofGivenUp):
            return TacticError(("the proof gave up (contains sorry)",))
        if isinstance(result, ld.LeanError):
            return TacticError((result.error,))
        return Crash(f"LeanDojo returned an unknown result: {result!r}")

    def _materialise(self, entry: _Entry, state: TacticState) -> Any:
        """The LeanDojo state for ``state.path`` in ``entry``'s Dojo, replaying from the longest known prefix."""
        path = state.path
        k = len(path)
        while k > 0 and path[:k] not in entry.states:
            k -= 1
        current = entry.states[path[:k]]
        for i in range(k, len(path)):
            result = entry.dojo.run_tac(current, path[i])
            if not isinstance(result, self._ld.TacticState):
                return Crash(f"cannot rebuild the state: replaying {path[i]!r} gave {type(result).__name__}")
            current = entry.states[path[: i + 1]] = result
        return current

    def _verify(self, theorem: Theorem, proof: str) -> Verdict:
        """Static guard (with this backend's guard options), then the proof's ``by`` block as one tactic
        block in a fresh Dojo (LeanDojo runs no commands, so there is no statement or axiom check)."""
        from prover.lean.lexer import code_tokens
        from prover.lean.statement import proof_assign_index
        from prover.lean.verify import build_declaration, verify_proof

        static = verify_proof(theorem, proof, options=self.guard_options)
        if not static.accepted:
            return static
        try:
            declaration, _ = build_declaration(theorem, proof)
            toks = code_tokens(declaration)
            assign = proof_assign_index(toks)
        except ValueError as exc:
            return Verdict(False, (f"cannot build the declaration: {exc}",), "guard")
        if assign is None or assign + 1 >= len(toks) or toks[assign + 1].text != "by":
            return Verdict(False, ("LeanDojo backend verifies tactic proofs (':= by ...') only",), "compile")
        body = declaration[toks[assign + 1].end :]
        root = self._start(theorem)
        if not isinstance(root, TacticState):
            return Verdict(False, (f"cannot start the theorem: {root}",), "compile")
        result = self.run_tactic(root, textwrap.dedent(body.strip("\n")).strip())
        if isinstance(result, ProofFinished):
            return Verdict(True, (DOJO_VERIFY_NOTE,))
        if isinstance(result, TacticState):
            return Verdict(False, ("unsolved goals\n" + result.pp,), "compile")
        return Verdict(False, (f"LeanDojo rejected the proof: {result}",), "compile")


def _goals(dojo_state: Any) -> tuple[str, ...]:
    """LeanDojo prints goals separated by blank lines (the same text as ``TacticState.pp``)."""
    return tuple(g for g in str(dojo_state.pp).split("\n\n") if g.strip())
