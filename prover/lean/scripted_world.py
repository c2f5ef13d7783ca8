"""Scripted worlds: a drop-in Lean REPL whose proof states come from a JSON file.

Search, the REPL client and the benchmarks need a Lean that is fast, deterministic and can misbehave on
demand (slow tactics, hangs, crashes). A world file lists theorems with their root goals and, for each goal
text, what each tactic does (new goals, an error, a delay, a crash). Three faces share one transition function:

* ``World.load(path)`` — the validated file (pydantic; errors name the file and the offending entry);
* ``WorldServer`` + ``main`` — a REPL process speaking the real JSON protocol and framing
  (``python -m prover.lean.scripted_world WORLD.json``), used behind the real ``ReplSession``;
* ``WorldSession`` — the same semantics in-process (no subprocess), for unit tests and search benchmarks.

Semantics: a tactic acts on the FIRST goal; it is looked up (whitespace-normalised) in ``goals[first_goal]``;
the goals it produces replace the first goal, the other goals follow. A tactic missing from the map is an error.
``sorry``/``admit`` close the first goal the way Lean does (a ``declaration uses `sorry``` warning), so
verification can be tested against them.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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

DEFAULT_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
SORRY_TACTICS = ("sorry", "admit")
_WS = re.compile(r"\s+")
_PRINT_AXIOMS = re.compile(r"^#print\s+axioms\s+(\S+)\s*$")
_EXAMPLE_OF = re.compile(
    r"^(?:universe(?:\s+[^\s]+)+\s+in\s+)?example\s*:(?P<type>.*):=\s*@?(?P<name>[^\s(){}]+?)(?:\.\{[^}]*\})?\s*$",
    re.DOTALL,
)
_HEADER_LINE = re.compile(
    r"^(import|open|set_option|namespace|section|end|universe|variable|noncomputable\s+section)\b"
)
_DECL_START = re.compile(r"^(theorem|lemma|example)\b")
_SCOPED_OPTION = re.compile(r"^set_option\s+\S+\s+\S+\s+in$")
_BULLETS = ("·", ". ")


class WorldError(ValueError):
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

    @model_validator(mode="after")
    def _exactly_one_outcome(self) -> Transition:
        if (self.goals is not None) + (self.error is not None) + self.crash != 1:
            raise ValueError("a transition needs exactly one of 'goals', 'error' or 'crash: true'")
        return self


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


def step(world: World, goals: Sequence[str], tactic: str) -> Step:
    """Apply ``tactic`` to the first of ``goals``. Pure: delays are reported, not slept."""
    delay = world.default_delay_ms
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
    return Step(goals=tuple(tr.goals or ()) + rest, delay_ms=delay)


def split_tactic_lines(body: str) -> list[tuple[int, str]]:
    """(0-based line, tactic) for each tactic of a ``by`` block: one per line at the block's indent.

    Deeper-indented lines continue the previous tactic unless they sit in a ``·`` bullet block; bullets
    are dropped (the world acts on the first goal, which is what a bullet focuses on).
    """
    lines = body.split("\n")
    code = [ln for ln in lines if ln.strip() and not ln.strip().startswith("--")]
    base = min((len(ln) - len(ln.lstrip()) for ln in code), default=0)
    out: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        text = line.strip()
        if not text or text.startswith("--"):
            continue
        indent = len(line) - len(line.lstrip())
        bullet = text.startswith(_BULLETS)
        if bullet:
            text = text[1:].strip()
        if out and indent > base and not bullet and not _inside_bullet(lines, i):
            out[-1] = (out[-1][0], out[-1][1] + "\n" + text)
        elif text:
            out.append((i, text))
    return out


def _inside_bullet(lines: list[str], index: int) -> bool:
    indent = len(lines[index]) - len(lines[index].lstrip())
    for prev in reversed(lines[:index]):
        if prev.strip() and len(prev) - len(prev.lstrip()) < indent:
            return prev.strip().startswith(_BULLETS)
    return False


# --- the REPL server --------------------------------------------------------------------------------------
@dataclass
class Reply:
    """The answer to one request plus its side effects (the process sleeps / exits; in-process code decides)."""

    response: dict[str, Any] | None
    delay_ms: int = 0
    crash: bool = False


@dataclass
class _ProofState:
    goals: tuple[str, ...]
    theorem: str
    used_sorry: bool = False


@dataclass
class WorldServer:
    """The REPL's state machine over a world: envs, proof states, and the answers the real REPL would give."""

    world: World
    #: env id -> theorems declared in it, each with whether it was elaborated with errors or sorry (as Lean,
    #: which still adds such a declaration, with ``sorryAx`` among its axioms)
    envs: dict[int, dict[str, bool]] = field(default_factory=dict)
    states: dict[int, _ProofState] = field(default_factory=dict)

    def handle(self, request: Mapping[str, Any]) -> Reply:
        if "tactic" in request:
            return self._tactic(request)
        if "cmd" in request:
            return self._command(request)
        if any(k in request for k in ("pickleTo", "unpickleEnvFrom", "unpickleProofStateFrom", "path")):
            return Reply({"message": "scripted world: pickling and files are not supported"})
        return Reply({"message": f"Could not parse as a valid JSON command: {sorted(request)}"})

    def _new_state(self, goals: Sequence[str], theorem: str, used_sorry: bool = False) -> int:
        new_id = len(self.states)
        self.states[new_id] = _ProofState(tuple(goals), theorem, used_sorry)
        return new_id

    # --- tactics ------------------------------------------------------------------------------------
    def _tactic(self, request: Mapping[str, Any]) -> Reply:
        ps = request.get("proofState")
        state = self.states.get(ps) if isinstance(ps, int) else None
        if state is None:
            return Reply({"message": "Unknown proof state."})
        tactic = str(request["tactic"])
        out = step(self.world, state.goals, tactic)
        if out.crash:
            return Reply(None, out.delay_ms, crash=True)
        if out.error is not None:
            new_id = self._new_state(state.goals, state.theorem, state.used_sorry)
            msg = _message("error", out.error, (1, 0), (1, len(tactic)))
            resp = {
                "proofStatus": "Error",
                "proofState": new_id,
                "goals": list(state.goals),
                "messages": [msg],
            }
            return Reply(resp, out.delay_ms)
        goals = out.goals or ()
        used_sorry = state.used_sorry or out.used_sorry
        new_id = self._new_state(goals, state.theorem, used_sorry)
        status = (
            "Incomplete: open goals remain"
            if goals
            else "Incomplete: contains sorry"
            if used_sorry
            else "Completed"
        )
        return Reply({"proofStatus": status, "proofState": new_id, "goals": list(goals)}, out.delay_ms)

    # --- commands -----------------------------------------------------------------------------------
    def _command(self, request: Mapping[str, Any]) -> Reply:
        env_id = request.get("env")
        if env_id is not None and env_id not in self.envs:
            return Reply({"message": "Unknown environment."})
        declared: dict[str, bool] = dict(self.envs[env_id]) if env_id is not None else {}
        messages: list[dict[str, Any]] = []
        sorries: list[dict[str, Any]] = []
        delay = 0
        for line0, chunk in _split_commands(str(request["cmd"])):
            text = chunk.strip()
            first = text.split("\n", 1)[0]
            if all(_HEADER_LINE.match(ln.strip()) for ln in text.split("\n") if ln.strip()):
                continue  # imports, open, set_option ...: accepted as they are
            if m := _PRINT_AXIOMS.match(text):
                messages.append(self._print_axioms(m.group(1), declared, line0, len(text)))
            elif m := _EXAMPLE_OF.match(text):
                messages.extend(self._example_of(m.group("type"), m.group("name"), declared, line0))
            elif _DECL_START.match(first):
                result = self._declaration(chunk, line0, declared)
                delay += result.delay_ms
                if result.crash:
                    return Reply(None, delay, crash=True)
                messages.extend(result.messages)
                sorries.extend(result.sorries)
                if result.name:
                    declared[result.name] = bool(result.messages)  # any error or sorry warning taints it
            else:
                messages.append(
                    _message(
                        "error",
                        f"scripted world: unsupported command: {first[:60]}",
                        (line0 + 1, 0),
                        (line0 + 1, len(first)),
                    )
                )
        new_env = len(self.envs)
        self.envs[new_env] = declared
        resp: dict[str, Any] = {}
        if sorries:
            resp["sorries"] = sorries
        if messages:
            resp["messages"] = messages
        resp["env"] = new_env
        return Reply(resp, delay)

    def _declaration(self, chunk: str, line0: int, declared: Mapping[str, bool]) -> _DeclResult:
        """Elaborate ``statement := by ...``: open the root state for ``by sorry``, else replay the script.

        As Lean: a name already in the env is an error (and the env keeps the old constant).
        """
        head, has_assign, body = _split_assign(chunk)
        spec = self.world.find_theorem(statement=head) if has_assign else None
        first_line = (line0 + 1, 0), (line0 + 1, len(chunk.split("\n", 1)[0]))
        if spec is None:
            why = "missing ':='" if not has_assign else "the statement is not in the scripted world"
            return _DeclResult(
                [_message("error", f"scripted world: unknown declaration ({why})", *first_line)]
            )
        if spec.name in declared:
            return _DeclResult([_message("error", f"'{spec.name}' has already been declared", *first_line)])
        stripped = body.lstrip()
        if not stripped.startswith("by"):
            return _DeclResult(
                [_message("error", "scripted world: only `:= by ...` proofs are supported", *first_line)]
            )
        name_col = max(chunk.find(spec.name), 0)
        name_span = (line0 + 1, name_col), (line0 + 1, name_col + len(spec.name))
        by_offset = len(chunk) - len(stripped)
        by_line = line0 + chunk[:by_offset].count("\n") + 1
        by_col = by_offset - (chunk.rfind("\n", 0, by_offset) + 1)
        script = stripped[2:]
        if normalise_tactic(script) in SORRY_TACTICS:  # ':= by sorry' opens the root state, as in Lean
            root = self._new_state(spec.goals, spec.name)
            col = by_col + 3
            sorry = {
                "proofState": root,
                "pos": {"line": by_line, "column": col},
                "goal": "\n\n".join(spec.goals),
                "endPos": {"line": by_line, "column": col + 5},
            }
            return _DeclResult(
                [_message("warning", "declaration uses `sorry`", *name_span)], [sorry], name=spec.name
            )
        goals: tuple[str, ...] = tuple(spec.goals)
        delay, used_sorry = 0, False
        for offset, tactic in split_tactic_lines(script):
            if _SCOPED_OPTION.match(tactic):
                continue  # `set_option NAME VALUE in` scopes the next tactic; the world has no options
            out = step(self.world, goals, tactic)
            delay += out.delay_ms
            line = by_line + offset
            if out.crash:
                return _DeclResult([], delay_ms=delay, crash=True)
            if out.error is not None:
                msg = _message("error", out.error, (line, 2), (line, 2 + len(tactic)))
                return _DeclResult([msg], delay_ms=delay, name=spec.name)
            goals = out.goals or ()
            used_sorry = used_sorry or out.used_sorry
        end = (line0 + chunk.rstrip().count("\n") + 1, len(chunk.rstrip().split("\n")[-1]))
        if goals:
            msg = _message("error", "unsolved goals\n" + "\n\n".join(goals), (by_line, by_col), end)
            return _DeclResult([msg], delay_ms=delay, name=spec.name)
        warn = [_message("warning", "declaration uses `sorry`", *name_span)] if used_sorry else []
        return _DeclResult(warn, delay_ms=delay, name=spec.name)

    def _print_axioms(self, name: str, declared: dict[str, bool], line0: int, width: int) -> dict[str, Any]:
        """Lean reports at the ``#print`` token (``withRef tk``): line 1, columns 0..6 of the command."""
        span = (line0 + 1, 0), (line0 + 1, min(width, len("#print")))
        if name not in declared:
            return _message("error", f"unknown constant '{name}'", *span)
        axioms = self.world.axioms_of(name)
        if declared[name] and "sorryAx" not in axioms:
            axioms = tuple(sorted((*axioms, "sorryAx")))
        if not axioms:
            return _message("info", f"'{name}' does not depend on any axioms", *span)
        return _message("info", f"'{name}' depends on axioms: [{', '.join(axioms)}]", *span)

    def _example_of(
        self, type_text: str, name: str, declared: dict[str, bool], line0: int
    ) -> list[dict[str, Any]]:
        """``example : T := @NAME`` type-checks when T is NAME's statement as a closed type (``∀ binders, type``)."""
        from prover.lean.statement import statement_as_type

        span = (line0 + 1, 0), (line0 + 1, 7)
        spec = self.world.find_theorem(name=name)
        if name not in declared or spec is None:
            return [_message("error", f"Unknown identifier `{name}`", *span)]
        expected = statement_as_type(spec.statement)
        if normalise_tactic(type_text) != normalise_tactic(expected):
            return [
                _message(
                    "error",
                    f"type mismatch\n  @{name}\nhas type\n  {expected} : Prop\nbut is expected "
                    f"to have type\n  {type_text.strip()} : Prop",
                    *span,
                )
            ]
        return []


@dataclass
class _DeclResult:
    messages: list[dict[str, Any]]
    sorries: list[dict[str, Any]] = field(default_factory=list)
    delay_ms: int = 0
    name: str | None = None
    crash: bool = False


def _message(severity: str, data: str, pos: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    return {
        "severity": severity,
        "pos": {"line": pos[0], "column": pos[1]},
        "endPos": {"line": end[0], "column": end[1]},
        "data": data,
    }


def _split_commands(text: str) -> list[tuple[int, str]]:
    """(0-based first line, text) per command: a command starts at a column-0 keyword, ``#`` or ``@[`` line."""
    chunks: list[tuple[int, list[str]]] = []
    for i, line in enumerate(text.split("\n")):
        starts = bool(line[:1].strip()) and bool(
            _DECL_START.match(line) or _HEADER_LINE.match(line) or line.startswith(("#", "@["))
        )
        if starts or not chunks:
            chunks.append((i, [line]))
        else:
            chunks[-1][1].append(line)
    return [(i, "\n".join(lines)) for i, lines in chunks if "".join(lines).strip()]


def _split_assign(chunk: str) -> tuple[str, bool, str]:
    """Split a declaration at its proof's ``:=`` (not a ``let``/``have`` one): (head, found, body)."""
    from prover.lean.lexer import code_tokens
    from prover.lean.statement import proof_assign_index

    try:
        toks = code_tokens(chunk)
    except ValueError:
        return chunk, False, ""
    k = proof_assign_index(toks)
    if k is None:
        return chunk, False, ""
    return chunk[: toks[k].start].rstrip(), True, chunk[toks[k].end :]


# --- the process ------------------------------------------------------------------------------------------
def encode_response(response: Mapping[str, Any]) -> str:
    """Pretty-printed JSON and a blank line: the REPL's framing (JSON never has a blank line inside)."""
    return json.dumps(response, ensure_ascii=False, indent=1) + "\n\n"


def serve(world: World, stdin: Any = None, stdout: Any = None) -> int:
    """Answer blank-line-separated commands (lines right-trimmed and joined, as the REPL does) until EOF."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    server = WorldServer(world)
    block: list[str] = []

    def answer(lines: list[str]) -> None:
        joined = "".join(ln.rstrip() for ln in lines)
        if joined.startswith(("#", "--")):
            return
        try:
            request = json.loads(joined)
            if not isinstance(request, dict):
                raise ValueError("a command must be a JSON object")
        except ValueError as exc:
            stdout.write(encode_response({"message": f"Could not parse JSON:\n{exc}"}))
            stdout.flush()
            return
        reply = server.handle(request)
        if reply.delay_ms:
            time.sleep(reply.delay_ms / 1000)
        if reply.crash:
            stdout.flush()
            os._exit(134)
        assert reply.response is not None
        stdout.write(encode_response(reply.response))
        stdout.flush()

    for line in stdin:
        if line.strip():
            block.append(line)
        elif block:
            answer(block)
            block = []
    if block:
        answer(block)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m prover.lean.scripted_world WORLD.json", file=sys.stderr)
        return 2
    try:
        world = World.load(args[0])
    except WorldError as exc:
        print(f"scripted world: error: {exc}", file=sys.stderr)
        return 2
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    return serve(world)


# --- in-process session -----------------------------------------------------------------------------------
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
        guard: Mapping[str, Any] | None = None,
    ) -> None:
        self.world = world if isinstance(world, World) else World.load(world)
        self.source = "<in-memory world>" if isinstance(world, World) else str(world)
        self.tactic_timeout_s = float(tactic_timeout_s)
        self.real_sleep = real_sleep
        self.pool_size = max(1, int(pool_size))
        self.simulated_seconds = 0.0
        self.tactics_run = 0
        self.guard_options = dict(guard or {})
        self._executor: ThreadPoolExecutor | None = None
        from prover.lean.guard import GuardOptions, make_tactic_guard

        self._verify_options = GuardOptions.from_config(self.guard_options)  # a bad key fails here, not later
        if self.guard_options:
            self.tactic_guard = make_tactic_guard(self.guard_options)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> WorldSession:
        pool = cfg.get("pool_size", 1)
        return cls(
            str(cfg["world"]),
            tactic_timeout_s=float(cfg.get("tactic_timeout_s", 2.0)),
            real_sleep=bool(cfg.get("real_sleep", True)),
            pool_size=pool if isinstance(pool, int) else 1,
            guard=cfg.get("guard") or None,
        )

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
            theorem, proof, run_command=self.command_runner(theorem.header), options=self._verify_options
        )

    def command_runner(self, header: str) -> Callable[..., Any]:
        """As ``ReplSession.command_runner``: ``run(cmd)`` on ``header``'s env, ``run(cmd, env=N)`` on an env
        an earlier call returned (one world server per runner, so its env ids stay meaningful)."""
        from prover.lean.protocol import Response

        server = WorldServer(self.world)
        header_env: list[int] = []

        def run(command: str, env: int | None = None) -> Response:
            request: dict[str, Any] = {"cmd": command}
            if env is None and header.strip():
                if not header_env:
                    base = server.handle({"cmd": header}).response
                    assert base is not None
                    header_env.append(int(base["env"]))
                env = header_env[0]
            if env is not None:
                request["env"] = env
            reply = server.handle(request)
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


if __name__ == "__main__":
    sys.exit(main())
