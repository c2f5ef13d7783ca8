"""A REPL process over a scripted world: the real JSON protocol and framing, answers computed by ``step``.

Sits behind the real ``ReplSession`` (``backend=scripted``) so tests and search benchmarks exercise the actual
client, framing, pool and restarts: ``python -m prover.lean.doubles.server WORLD.json`` or ``prover lean world
WORLD.json``. ``WorldServer`` is the REPL's state machine (envs, proof states, the answers the real REPL would
give); its effects (a delay, a crash) come back as a ``Reply`` that ``serve`` applies (sleep / ``os._exit``)
and the in-process ``WorldSession`` maps to ``Timeout``/``Crash``.

Commands are split and read with the project's lexer (``prover.lean.source``, ``prover.lean.statement``), as
the verifier writes them: declarations (``theorem``/``lemma``/``example`` ``:= by …``), ``#print axioms NAME``
and the statement check ``example : T := @NAME``; scope commands (``import``, ``open``, ``namespace`` …) are
accepted and change nothing. As Lean, a declaration with errors or ``sorry`` is still added to the env, tainted
with ``sorryAx``; a name already in the env is "already declared".
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from prover.lean.doubles.world import SORRY_TACTICS, World, WorldError, normalise_tactic, step
from prover.lean.lexer import LexError, Token, code_tokens
from prover.lean.protocol import PICKLE_KEYS, Request, encode_response, read_command_blocks, request_json
from prover.lean.source import SourceError, split_commands
from prover.lean.statement import proof_assign_index, split_declaration, statement_as_type
from prover.lean.tactic_text import is_tactic_sequence, unwrap_single_tactic

#: Commands that only set up scope: accepted, no effect on the world.
SCOPE_COMMANDS = frozenset(
    {"import", "open", "set_option", "namespace", "section", "end", "universe", "variable"}
)
DECLARATION_COMMANDS = frozenset({"theorem", "lemma", "example"})
_BULLETS = ("·", ". ")


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

    def handle(self, request: Request | Mapping[str, Any]) -> Reply:
        """The answer to one request: typed, or the JSON object read from the pipe."""
        request = request_json(request)
        if "tactic" in request:
            return self._tactic(request)
        if "cmd" in request:
            return self._command(request)
        if any(k in request for k in (*PICKLE_KEYS, "path")):
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
        sent = str(request["tactic"])
        if is_tactic_sequence(sent):
            # the REPL parses exactly one tactic (leanprover-community/repl#43); the client sends `(seq)`
            return Reply({"message": f"Lean error:\n<input>:1:{sent.index(';')}: expected end of input"})
        tactic = unwrap_single_tactic(sent)  # Lean's `(seq)` runs the step `seq`, which the world scripts
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
        try:
            commands = world_commands(str(request["cmd"]))
        except SourceError as exc:
            commands = [WorldCommand("", 0, "", ("error", f"scripted world: {exc}"))]
        for cmd in commands:
            line0, chunk, (kind, arg) = cmd.line0, cmd.text, cmd.meaning
            first = chunk.strip().split("\n", 1)[0]
            if kind == "scope":
                continue  # imports, open, set_option, namespace ...: accepted as they are
            if kind == "print_axioms":
                messages.append(self._print_axioms(arg, declared, line0, len(chunk.strip())))
            elif kind == "print_string":
                messages.append(_message("info", arg, (line0 + 1, 0), (line0 + 1, len("#print"))))
            elif kind == "example_of":
                type_text, name = arg
                messages.extend(self._example_of(type_text, name, declared, line0))
            elif kind == "declaration":
                result = self._declaration(chunk, line0, declared)
                delay += result.delay_ms
                if result.crash:
                    return Reply(None, delay, crash=True)
                messages.extend(result.messages)
                sorries.extend(result.sorries)
                if result.name:
                    declared[result.name] = bool(result.messages)  # any error or sorry warning taints it
            elif kind == "unsupported" and (canned := self.world.scripted_command(chunk)) is not None:
                delay += canned.delay_ms or 0
                if canned.crash:
                    return Reply(None, delay, crash=True)
                span = (line0 + 1, 0), (line0 + 1, len(first))
                if canned.requires is not None and declared.get(canned.requires, True):  # missing or tainted
                    messages.append(_message("error", f"unknown constant '{canned.requires}'", *span))
                else:
                    messages.extend(_message(m.severity, m.data, *span) for m in canned.messages)
            else:
                why = arg if kind == "error" else f"scripted world: unsupported command: {first[:60]}"
                messages.append(_message("error", why, (line0 + 1, 0), (line0 + 1, len(first))))
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
        if spec is None and (canned := self.world.scripted_command(chunk)) is not None:
            # a canned answer for a declaration that is not a theorem of the world (e.g. an `example` checking
            # that a term elaborates)
            return _DeclResult(
                [_message(m.severity, m.data, *first_line) for m in canned.messages],
                delay_ms=canned.delay_ms or 0,
                crash=canned.crash,
            )
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
            if _is_scoped_option(tactic):
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


# --- reading commands with the lexer -------------------------------------------------------------------
@dataclass(frozen=True)
class WorldCommand:
    """One command of a ``cmd``: its first line (0-based), its text from that line's start, and what it is.

    ``meaning`` is ``("scope", None)``, ``("print_axioms", NAME)``, ``("example_of", (TYPE, NAME))``,
    ``("declaration", None)``, ``("unsupported", None)`` or ``("error", MESSAGE)``.
    """

    text: str
    line0: int
    keyword: str
    meaning: tuple[str, Any]


def world_commands(text: str) -> list[WorldCommand]:
    """Split ``text`` into commands (``prover.lean.source``) and classify each; raises ``SourceError``."""
    preamble, commands = split_commands(text)
    out: list[WorldCommand] = []
    if _has_code(preamble):  # comments before the first command are layout, anything else is not Lean
        out.append(WorldCommand(preamble, 0, "", ("unsupported", None)))
    for cmd in commands:
        # from the start of the command's (decl_start's) line, so columns are the command's own
        begin = cmd.decl_start
        line_start = text.rfind("\n", 0, begin) + 1
        if text[line_start:begin].strip():
            line_start = begin
        chunk = text[line_start : cmd.end]
        out.append(
            WorldCommand(chunk, text.count("\n", 0, line_start), cmd.keyword, _meaning(cmd.keyword, chunk))
        )
    return out


def _has_code(text: str) -> bool:
    try:
        return bool(code_tokens(text))
    except LexError:
        return True


def _meaning(keyword: str, chunk: str) -> tuple[str, Any]:
    if keyword in SCOPE_COMMANDS:
        return "scope", None
    try:
        toks = code_tokens(chunk)
    except LexError as exc:
        return "error", f"scripted world: {exc}"
    if keyword == "#print":
        words = [t.text for t in toks]
        if len(words) == 3 and words[1] == "axioms" and toks[2].kind == "ident":
            return "print_axioms", words[2]
        if len(toks) == 2 and toks[1].kind == "string" and "\\" not in words[1]:
            # Lean's `#print "text"` logs the text at the `#print` token (src/Lean/Elab/Print.lean, elabPrint)
            return "print_string", words[1][1:-1]
        return "unsupported", None
    if keyword == "example":
        parts = split_declaration(chunk)
        name = _constant_reference(parts.proof)
        if name is not None and not parts.binders.strip():
            return "example_of", (parts.type, name)
    if keyword in DECLARATION_COMMANDS:
        return "declaration", None
    return "unsupported", None


def _constant_reference(proof: str | None) -> str | None:
    """NAME when ``proof`` is ``@NAME`` or ``NAME`` (universes ``.{u}`` allowed), else None."""
    if proof is None:
        return None
    toks: list[Token] = code_tokens(proof)
    if toks and toks[0].text == "@":
        toks = toks[1:]
    if not toks or toks[0].kind != "ident":
        return None
    rest = [t.text for t in toks[1:]]
    if rest and not (rest[:2] == [".", "{"] and rest[-1] == "}" and "}" not in rest[2:-1]):
        return None
    return toks[0].text


def _split_assign(chunk: str) -> tuple[str, bool, str]:
    """Split a declaration at its proof's ``:=`` (not a ``let``/``have`` one): (head, found, body)."""
    try:
        toks = code_tokens(chunk)
    except LexError:
        return chunk, False, ""
    k = proof_assign_index(toks)
    if k is None:
        return chunk, False, ""
    return chunk[: toks[k].start].rstrip(), True, chunk[toks[k].end :]


def _is_scoped_option(tactic: str) -> bool:
    """``set_option NAME VALUE in`` alone on a line: it scopes the next tactic (the world has no options)."""
    try:
        toks = code_tokens(tactic)
    except LexError:
        return False
    return len(toks) == 4 and toks[0].text == "set_option" and toks[-1].text == "in"


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


# --- the process ----------------------------------------------------------------------------------------
def serve(world: World, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Answer the commands on ``stdin`` (the REPL's framing, read by ``protocol.read_command_blocks``) until EOF."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    server = WorldServer(world)
    for block in read_command_blocks(stdin):
        try:
            request = json.loads(block)
            if not isinstance(request, dict):
                raise ValueError("a command must be a JSON object")
        except ValueError as exc:
            stdout.write(encode_response({"message": f"Could not parse JSON:\n{exc}"}))
            stdout.flush()
            continue
        reply = server.handle(request)
        if reply.delay_ms:
            time.sleep(reply.delay_ms / 1000)
        if reply.crash:
            stdout.flush()
            os._exit(134)
        assert reply.response is not None
        stdout.write(encode_response(reply.response))
        stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m prover.lean.doubles.server WORLD.json", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
