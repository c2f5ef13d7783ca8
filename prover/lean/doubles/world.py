"""Scripted worlds: the file format (a pydantic model) and the pure transition function ``step``.

Search, the REPL client and the benchmarks need a Lean that is fast, deterministic and can misbehave on
demand (slow tactics, hangs, crashes). A world file lists theorems with their root goals and, for each goal
text, what each tactic does (new goals, an error, a delay, a crash). ``World.load(path)`` validates the file
(errors name the file and the offending entry); the server (``prover.lean.doubles.server``) and the in-process
``WorldSession`` (``prover.lean.doubles.session``) share ``step``, so both faces behave identically.

Semantics: a tactic acts on the FIRST goal; it is looked up (whitespace-normalised) in ``goals[first_goal]``;
the goals it produces replace the first goal, the other goals follow. A tactic missing from the map is an error.
``sorry``/``admit`` close the first goal the way Lean does (a ``declaration uses `sorry``` warning), so
verification can be tested against them. ``try T`` without its own entry runs ``T`` and keeps the goals when it
fails. Goal steering is native, as in Lean: ``pick_goal N`` (``-N`` from the end) moves a goal to the front, and
``all_goals T`` without its own entry runs ``T`` on each goal (``skip`` without an entry keeps the goal, so an
entry ``skip -> []`` scripts a goal that unification already assigned, which ``all_goals skip`` drops); a
transition's ``assigns`` instantiates metavariables (``?w``) in the other goals.
``commands`` gives canned answers to commands the world cannot elaborate (see ``ScriptedCommand``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prover.lean.errors import LeanError
from prover.lean.types import Theorem

DEFAULT_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
SORRY_TACTICS = ("sorry", "admit")
_WS = re.compile(r"\s+")


class WorldError(LeanError, ValueError):
    """A world file that cannot be used: missing, not JSON, or not the scripted-world format."""


def normalise_tactic(tactic: str) -> str:
    """Whitespace-insensitive form of a tactic (or statement): whitespace runs become one space."""
    return _WS.sub(" ", tactic).strip()


def normalise_goal(goal: str) -> str:
    """Goal text without trailing spaces on lines or around the whole text (pretty-printing noise)."""
    return "\n".join(line.rstrip() for line in goal.strip().splitlines())


# --- the file format ----------------------------------------------------------------------------------
class Transition(BaseModel):
    """What one tactic does to the first goal: exactly one of ``goals``, ``error``, ``crash``."""

    model_config = ConfigDict(extra="forbid")

    goals: list[str] | None = None
    error: str | None = None
    crash: bool = False
    delay_ms: int | None = Field(default=None, ge=0)
    #: metavariables the tactic assigned (``{"?w": "7"}``): replaced in the other goals, as Lean instantiates
    assigns: dict[str, str] | None = None

    @model_validator(mode="after")
    def _exactly_one_outcome(self) -> Transition:
        if (self.goals is not None) + (self.error is not None) + self.crash != 1:
            raise ValueError("a transition needs exactly one of 'goals', 'error' or 'crash: true'")
        return self


class ScriptedMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Literal["info", "warning", "error"] = "info"
    data: str


class ScriptedCommand(BaseModel):
    """A canned answer for a command the world cannot elaborate (a metaprogram of ours, e.g. the FPS answer
    extraction), or for a declaration that is not one of the world's theorems (an ``example`` checking that a
    term elaborates): such a command whose text contains ``contains`` gets ``messages``; with
    ``requires``, only on an env where that declaration was added without errors or ``sorry``."""

    model_config = ConfigDict(extra="forbid")

    contains: str = Field(min_length=1)
    requires: str | None = None
    messages: list[ScriptedMessage] = Field(default_factory=list)
    delay_ms: int | None = Field(default=None, ge=0)
    crash: bool = False


class TheoremSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    statement: str = Field(min_length=1)
    header: str = "import Mathlib\n"
    goals: list[str] = Field(min_length=1)
    axioms: list[str] | None = None

    def to_theorem(self) -> Theorem:
        return Theorem(self.name, self.statement, self.header, source="scripted-world")


class World(BaseModel):
    """A validated world file; goal and tactic keys are indexed normalised for lookup."""

    model_config = ConfigDict(extra="forbid")

    theorems: list[TheoremSpec] = Field(min_length=1)
    goals: dict[str, dict[str, Transition]] = Field(default_factory=dict)
    default_delay_ms: int = Field(default=0, ge=0)
    commands: list[ScriptedCommand] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> World:
        seen: set[str] = set()
        for spec in self.theorems:
            if spec.name in seen:
                raise ValueError(f"theorem name {spec.name!r} appears twice")
            seen.add(spec.name)
        return self

    def model_post_init(self, _context: Any) -> None:
        self._table = {
            normalise_goal(goal): {normalise_tactic(t): tr for t, tr in tactics.items()}
            for goal, tactics in self.goals.items()
        }
        self._by_statement = {normalise_tactic(s.statement): s for s in self.theorems}
        self._by_name = {s.name: s for s in self.theorems}

    # --- loading ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> World:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WorldError(f"world file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise WorldError(f"cannot read world file {path}: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorldError(
                f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            ) from None
        return cls.from_data(data, source=str(path))

    @classmethod
    def from_data(cls, data: Any, source: str = "<world>") -> World:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}" for e in exc.errors()[:3]
            )
            more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
            raise WorldError(f"{source}: not a scripted world: {problems}{more}") from None

    # --- lookups ------------------------------------------------------------------------------------
    def find_theorem(self, name: str | None = None, statement: str | None = None) -> TheoremSpec | None:
        """By statement (whitespace-normalised) first, then by name."""
        if statement is not None and (spec := self._by_statement.get(normalise_tactic(statement))):
            return spec
        return self._by_name.get(name) if name is not None else None

    def axioms_of(self, name: str) -> tuple[str, ...]:
        spec = self._by_name.get(name)
        return DEFAULT_AXIOMS if spec is None or spec.axioms is None else tuple(spec.axioms)

    def scripted_command(self, text: str) -> ScriptedCommand | None:
        """The first canned answer whose ``contains`` occurs in ``text``."""
        return next((c for c in self.commands if c.contains in text), None)

    def transition(self, goal: str, tactic: str) -> Transition | None:
        return self._table.get(normalise_goal(goal), {}).get(normalise_tactic(tactic))

    def apply(self, goals: Sequence[str], tactic: str) -> Step:
        return step(self, goals, tactic)


# --- the pure transition function -----------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """Outcome of one tactic on a goal list: new goals, an error or a crash, after ``delay_ms``."""

    goals: tuple[str, ...] | None = None
    error: str | None = None
    crash: bool = False
    delay_ms: int = 0
    used_sorry: bool = False


def _substitute_literally(pattern: re.Pattern[str], value: str, text: str) -> str:
    """``pattern.sub`` with ``value`` taken as plain text (a string template would read its backslashes)."""
    return pattern.sub(lambda _m: value, text)


def step(world: World, goals: Sequence[str], tactic: str) -> Step:
    """Apply ``tactic`` to the first of ``goals``. Pure: delays are reported, not slept."""
    delay = world.default_delay_ms
    if normalise_tactic(tactic).startswith("try ") and (
        not goals or world.transition(goals[0], tactic) is None
    ):
        # as Lean's `try`: a failing tactic leaves the goals as they were (a crash or delay still happens)
        inner = step(world, goals, normalise_tactic(tactic)[4:])
        return Step(goals=tuple(goals), delay_ms=inner.delay_ms) if inner.error is not None else inner
    steered = _steer(world, goals, normalise_tactic(tactic), delay)
    if steered is not None:
        return steered
    if not goals:
        return Step(error="no goals to be proved", delay_ms=delay)
    first, rest = goals[0], tuple(goals[1:])
    if normalise_tactic(tactic) in SORRY_TACTICS:
        return Step(goals=rest, delay_ms=delay, used_sorry=True)
    tr = world.transition(first, tactic)
    if tr is None:
        return Step(
            error=f"scripted world: tactic '{normalise_tactic(tactic)}' failed on this goal", delay_ms=delay
        )
    if tr.delay_ms is not None:
        delay = tr.delay_ms
    if tr.crash:
        return Step(crash=True, delay_ms=delay)
    if tr.error is not None:
        return Step(error=tr.error, delay_ms=delay)
    for mvar, value in (tr.assigns or {}).items():
        pattern = re.compile(re.escape(mvar) + r"(?![\w'!?])")
        rest = tuple(_substitute_literally(pattern, value, goal) for goal in rest)
    return Step(goals=tuple(tr.goals or ()) + rest, delay_ms=delay)


_PICK_GOAL = re.compile(r"pick_goal (-?)(\d+)")


def _steer(world: World, goals: Sequence[str], tactic: str, delay: int) -> Step | None:
    """Lean's goal-list tactics (``pick_goal``, ``all_goals`` and ``skip`` without an entry), or None."""
    scripted = bool(goals) and world.transition(goals[0], tactic) is not None
    if scripted:
        return None
    if tactic == "skip":
        return Step(goals=tuple(goals), delay_ms=delay)
    if m := _PICK_GOAL.fullmatch(tactic):
        n = int(m.group(2))
        if n == 0 or n > len(goals):
            return Step(error=f"goal index `{n}` is out of bounds", delay_ms=delay)
        i = len(goals) - n if m.group(1) else n - 1
        return Step(goals=(goals[i], *goals[:i], *goals[i + 1 :]), delay_ms=delay)
    if tactic.startswith("all_goals "):
        out: list[str] = []
        for goal in goals:
            one = step(world, [goal], tactic[len("all_goals ") :])
            if one.goals is None:
                return Step(error=one.error, crash=one.crash, delay_ms=delay + one.delay_ms)
            out.extend(one.goals)
            delay += one.delay_ms
        return Step(goals=tuple(out), delay_ms=delay)
    return None
