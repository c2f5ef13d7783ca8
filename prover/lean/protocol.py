"""The Lean REPL's JSON protocol: framing of commands and responses, and typed responses.

Framing (leanprover-community/repl): the REPL reads stdin in blocks of lines up to a blank line, trims each
line at its end and concatenates them, so a raw line break inside a JSON string vanishes. We therefore always
send a command as ONE line of JSON (newlines escaped) followed by a blank line. Responses are JSON objects,
possibly pretty-printed over many lines, each followed by a blank line; JSON escapes newlines inside strings,
so a blank line can only occur between responses.

Success semantics follow real Lean, not the shape of the answer: a step fails whenever any message has
severity ``error`` (error recovery may still return a state with ``goals: []``), and a proof is complete only
with no error, no ``sorry``, no goals, and ``proofStatus`` absent or ``"Completed"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SEVERITIES = ("trace", "info", "warning", "error")
CommandKind = Literal["command", "tactic", "pickle", "error"]
_PICKLE_KEYS = ("pickleTo", "unpickleEnvFrom", "unpickleProofStateFrom")


class ProtocolError(ValueError):
    """The REPL (or a file claiming to be a transcript) produced something that is not the protocol."""


@dataclass(frozen=True)
class Pos:
    line: int
    column: int

    @classmethod
    def parse(cls, raw: Any) -> Pos | None:
        if not isinstance(raw, Mapping):
            return None
        return cls(int(raw.get("line", 0)), int(raw.get("column", 0)))


@dataclass(frozen=True)
class Message:
    """A Lean message (error, warning, info, trace) with its source range."""

    severity: str
    data: str
    pos: Pos | None = None
    end_pos: Pos | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self) -> str:
        where = f"{self.pos.line}:{self.pos.column}: " if self.pos else ""
        return f"{where}{self.severity}: {self.data}"


@dataclass(frozen=True)
class Sorry:
    """A ``sorry`` in elaborated code: its goal and the proof state the REPL opened for it."""

    goal: str
    proof_state: int | None
    pos: Pos | None = None
    end_pos: Pos | None = None


@dataclass(frozen=True)
class TacticInfo:
    """One entry of ``tactics`` (answers to ``allTactics: true``)."""

    tactic: str
    goals: str
    proof_state: int | None
    pos: Pos | None = None
    end_pos: Pos | None = None
    used_constants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Response:
    """One REPL answer, typed. ``raw`` keeps the JSON object for fields we do not model (``infotree``)."""

    raw: dict[str, Any] = field(repr=False)
    env: int | None = None
    proof_state: int | None = None
    goals: tuple[str, ...] | None = None
    proof_status: str | None = None
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    tactics: tuple[TacticInfo, ...] = ()
    #: ``{"message": ...}``: the REPL refused the request (unknown env, parse error, unknown tactic...).
    message: str | None = None

    # --- semantics --------------------------------------------------------------------------------
    @property
    def errors(self) -> tuple[str, ...]:
        """Every error this answer carries, as text: a refusal or error-severity messages."""
        out = [m.render() for m in self.messages if m.is_error]
        if self.message is not None:
            out.insert(0, self.message)
        return tuple(out)

    @property
    def ok(self) -> bool:
        """False whenever Lean reported an error (even if it also returned a state) or refused the request."""
        return self.message is None and not any(m.is_error for m in self.messages)

    @property
    def is_tactic_answer(self) -> bool:
        return self.proof_state is not None and self.goals is not None

    @property
    def complete(self) -> bool:
        """A tactic step that closed the proof: no error, no sorry, no goals, status absent or Completed."""
        return (
            self.ok
            and self.goals is not None
            and not self.goals
            and not self.sorries
            and self.proof_status in (None, "Completed")
        )

    # --- parsing ----------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, obj: Any) -> Response:
        if not isinstance(obj, dict):
            raise ProtocolError(f"a REPL response must be a JSON object, got {type(obj).__name__}")
        try:
            goals = obj.get("goals")
            return cls(
                raw=obj,
                env=_opt_int(obj.get("env")),
                proof_state=_opt_int(obj.get("proofState")),
                goals=tuple(str(g) for g in goals) if isinstance(goals, list) else None,
                proof_status=obj.get("proofStatus"),
                messages=tuple(_message(m) for m in obj.get("messages") or ()),
                sorries=tuple(_sorry(s) for s in obj.get("sorries") or ()),
                tactics=tuple(_tactic(t) for t in obj.get("tactics") or ()),
                message=str(obj["message"]) if "message" in obj else None,
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"malformed REPL response: {exc}") from exc

    @classmethod
    def parse(cls, text: str) -> Response:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            preview = text.strip()[:120]
            raise ProtocolError(f"REPL output is not JSON ({exc.msg}): {preview!r}") from exc
        return cls.from_json(obj)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _message(raw: Mapping[str, Any]) -> Message:
    severity = str(raw.get("severity", "error"))
    if severity not in SEVERITIES:
        raise ProtocolError(f"unknown message severity {severity!r}")
    return Message(
        severity, str(raw.get("data", "")), Pos.parse(raw.get("pos")), Pos.parse(raw.get("endPos"))
    )


def _sorry(raw: Mapping[str, Any]) -> Sorry:
    return Sorry(
        str(raw.get("goal", "")),
        _opt_int(raw.get("proofState")),
        Pos.parse(raw.get("pos")),
        Pos.parse(raw.get("endPos")),
    )


def _tactic(raw: Mapping[str, Any]) -> TacticInfo:
    return TacticInfo(
        str(raw.get("tactic", "")),
        str(raw.get("goals", "")),
        _opt_int(raw.get("proofState")),
        Pos.parse(raw.get("pos")),
        Pos.parse(raw.get("endPos")),
        tuple(str(c) for c in raw.get("usedConstants") or ()),
    )


# --- commands ---------------------------------------------------------------------------------------
def encode_command(command: Mapping[str, Any]) -> bytes:
    """One line of JSON (newlines inside strings escaped) and the blank line that ends the block."""
    return (json.dumps(command, ensure_ascii=False, separators=(", ", ": ")) + "\n\n").encode("utf-8")


def command_kind(command: Mapping[str, Any]) -> CommandKind:
    """What a command asks for; decides how its answer is read (a pickle of a state looks like a tactic)."""
    if any(k in command for k in _PICKLE_KEYS):
        return "pickle"
    if "tactic" in command:
        return "tactic"
    return "command"


def iter_command_blocks(text: str) -> Iterator[str]:
    """The blocks the REPL would read from ``text``: lines up to a blank line, right-trimmed, concatenated.

    Blocks starting with ``#`` or ``--`` are skipped, as the REPL skips them.
    """
    block: list[str] = []
    for line in text.splitlines():
        if line.strip():
            block.append(line.rstrip())
            continue
        if block:
            yield from _keep(block)
            block = []
    if block:
        yield from _keep(block)


def _keep(block: list[str]) -> Iterator[str]:
    joined = "".join(block)
    if not (joined.startswith("#") or joined.startswith("--")):
        yield joined


def parse_commands(text: str, source: str = "<commands>") -> list[dict[str, Any]]:
    """Parse a ``.in`` transcript into command objects, naming the block that is not a JSON object."""
    commands = []
    for i, block in enumerate(iter_command_blocks(text)):
        try:
            obj = json.loads(block)
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"{source}: command {i + 1} is not JSON ({exc.msg}): {block[:80]!r}") from exc
        if not isinstance(obj, dict):
            raise ProtocolError(f"{source}: command {i + 1} is not a JSON object")
        commands.append(obj)
    return commands


def split_response_texts(text: str) -> list[str]:
    """Split REPL output into the text of each response (separated by blank lines)."""
    out, block = [], []
    for line in text.splitlines():
        if line.strip():
            block.append(line)
        elif block:
            out.append("\n".join(block))
            block = []
    if block:
        out.append("\n".join(block))
    return out


def parse_responses(text: str) -> list[Response]:
    return [Response.parse(t) for t in split_response_texts(text)]


class FrameBuffer:
    """Incremental framing of REPL stdout: bytes in (any split), complete response texts out.

    Works on bytes and searches only the newly arrived tail, so a 20 MB answer arriving in 64 KiB pieces
    costs linear time; each frame is decoded with ``errors="replace"`` so a stray non-UTF-8 byte cannot
    kill the session.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan_from = 0

    def feed(self, data: bytes) -> list[str]:
        self._buf += data
        frames: list[str] = []
        while True:
            cut = self._find_blank_line()
            if cut is None:
                return frames
            start, end = cut
            chunk = bytes(self._buf[:start])
            del self._buf[:end]
            self._scan_from = 0
            text = chunk.decode("utf-8", errors="replace").strip()
            if text:
                frames.append(text)

    def _find_blank_line(self) -> tuple[int, int] | None:
        buf = self._buf
        i = buf.find(b"\n", max(self._scan_from - 1, 0))
        while i != -1:
            j = i + 1
            while j < len(buf) and buf[j] in (0x20, 0x09, 0x0D):
                j += 1
            if j < len(buf) and buf[j] == 0x0A:
                if buf[:i].strip():
                    return i, j + 1
                # leading blank lines: drop them and keep scanning
                del buf[: j + 1]
                i = buf.find(b"\n")
                continue
            if j >= len(buf):
                self._scan_from = i
                return None
            i = buf.find(b"\n", j)
        self._scan_from = len(buf)
        return None

    @property
    def pending(self) -> bytes:
        return bytes(self._buf)
