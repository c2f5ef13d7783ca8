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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from prover.lean.errors import LeanError

SEVERITIES = ("trace", "info", "warning", "error")
CommandKind = Literal["command", "tactic", "pickle", "error"]
PICKLE_KEYS = ("pickleTo", "unpickleEnvFrom", "unpickleProofStateFrom")


class ProtocolError(LeanError, ValueError):
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


# --- requests -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CommandRequest:
    """Elaborate Lean commands, on ``env`` (an env id an earlier answer returned) or a fresh environment."""

    cmd: str
    env: int | None = None
    all_tactics: bool = False
    root_goals: bool = False
    #: ``"full"``, ``"tactics"``, ``"original"`` or ``"substantive"``: ask for the info tree.
    infotree: str | None = None
    kind: ClassVar[CommandKind] = "command"

    def to_json(self) -> dict[str, Any]:
        return _drop_unset(
            {
                "cmd": self.cmd,
                "env": self.env,
                "allTactics": self.all_tactics,
                "rootGoals": self.root_goals,
                "infotree": self.infotree,
            }
        )


@dataclass(frozen=True)
class FileRequest:
    """Elaborate a whole file by path (read by the REPL, relative to its working directory)."""

    path: str
    all_tactics: bool = False
    root_goals: bool = False
    infotree: str | None = None
    kind: ClassVar[CommandKind] = "command"

    def to_json(self) -> dict[str, Any]:
        return _drop_unset(
            {
                "path": self.path,
                "allTactics": self.all_tactics,
                "rootGoals": self.root_goals,
                "infotree": self.infotree,
            }
        )


@dataclass(frozen=True)
class TacticRequest:
    """Run one tactic on a proof state of this process."""

    tactic: str
    proof_state: int
    kind: ClassVar[CommandKind] = "tactic"

    def to_json(self) -> dict[str, Any]:
        return {"tactic": self.tactic, "proofState": self.proof_state}


@dataclass(frozen=True)
class PickleRequest:
    """Write an env or a proof state (exactly one of them) to ``pickle_to``."""

    pickle_to: str
    env: int | None = None
    proof_state: int | None = None
    kind: ClassVar[CommandKind] = "pickle"

    def __post_init__(self) -> None:
        if (self.env is None) == (self.proof_state is None):
            raise ValueError("a pickle request names exactly one of env and proof_state")

    def to_json(self) -> dict[str, Any]:
        return _drop_unset({"pickleTo": self.pickle_to, "env": self.env, "proofState": self.proof_state})


@dataclass(frozen=True)
class UnpickleEnvRequest:
    """Load an env written by a :class:`PickleRequest`."""

    path: str
    kind: ClassVar[CommandKind] = "pickle"

    def to_json(self) -> dict[str, Any]:
        return {"unpickleEnvFrom": self.path}


@dataclass(frozen=True)
class UnpickleProofStateRequest:
    """Load a proof state written by a :class:`PickleRequest` (on ``env``, when given)."""

    path: str
    env: int | None = None
    kind: ClassVar[CommandKind] = "pickle"

    def to_json(self) -> dict[str, Any]:
        return _drop_unset({"unpickleProofStateFrom": self.path, "env": self.env})


#: Everything the REPL accepts, typed. ``ReplProcess.request`` also takes a raw JSON object (a transcript's).
Request = (
    CommandRequest
    | FileRequest
    | TacticRequest
    | PickleRequest
    | UnpickleEnvRequest
    | UnpickleProofStateRequest
)


def _drop_unset(obj: dict[str, Any]) -> dict[str, Any]:
    """The REPL's defaults are absent keys: leave out ``None`` and ``False``."""
    return {k: v for k, v in obj.items() if v is not None and v is not False}


def request_json(request: Request | Mapping[str, Any]) -> dict[str, Any]:
    """A request as the JSON object sent to the REPL (a raw mapping is passed on as it is)."""
    return request.to_json() if hasattr(request, "to_json") else dict(request)  # type: ignore[union-attr]


# --- commands ---------------------------------------------------------------------------------------
def encode_command(command: Request | Mapping[str, Any]) -> bytes:
    """One line of JSON (newlines inside strings escaped) and the blank line that ends the block."""
    line = json.dumps(request_json(command), ensure_ascii=False, separators=(", ", ": "))
    return (line + "\n\n").encode("utf-8")


def command_kind(command: Request | Mapping[str, Any]) -> CommandKind:
    """What a command asks for; decides how its answer is read (a pickle of a state looks like a tactic)."""
    if not isinstance(command, Mapping):
        return command.kind
    if any(k in command for k in PICKLE_KEYS):
        return "pickle"
    if "tactic" in command:
        return "tactic"
    return "command"


def read_command_blocks(lines: Iterable[str]) -> Iterator[str]:
    """The command blocks the REPL reads from ``lines``, each yielded as soon as its blank line arrives.

    A block is the lines up to a blank line, each right-trimmed, concatenated (so a raw line break inside a
    JSON string vanishes, as in the REPL); blocks starting with ``#`` or ``--`` are skipped, as the REPL
    skips them. The one reader of command framing: transcripts, the replay double and the world server.
    """
    block: list[str] = []
    for line in lines:
        if line.strip():
            block.append(line.rstrip())
            continue
        if block:
            yield from _keep(block)
            block = []
    if block:
        yield from _keep(block)


def iter_command_blocks(text: str) -> Iterator[str]:
    """:func:`read_command_blocks` over a whole text (a ``.in`` transcript)."""
    return read_command_blocks(text.splitlines())


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
    """Split REPL output into the text of each response (separated by blank lines), via :class:`FrameBuffer`."""
    return FrameBuffer().feed(text.encode("utf-8") + b"\n\n")


def frame_response(text: str) -> str:
    """A response's text as the REPL writes it: the JSON text, then the blank line that ends it."""
    return text + "\n\n"


def encode_response(response: Mapping[str, Any]) -> str:
    """A response object as the REPL prints it: pretty-printed JSON (never a blank line inside), framed."""
    return frame_response(json.dumps(response, ensure_ascii=False, indent=1))


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
