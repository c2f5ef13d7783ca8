"""A drop-in REPL process that answers from a recording (``X.in`` + ``X.expected.out``).

Lets the client, the CLI and their tests run against real Lean answers without a Lean toolchain. It reads
stdin exactly as the REPL does (blocks up to a blank line, lines right-trimmed and concatenated, ``#``/``--``
blocks skipped), compares each command with the recording as parsed JSON (so spacing does not matter), and
prints the recorded answer verbatim followed by a blank line. A command that differs from the recording, or
one past its end, is a test failure, not something to paper over: it is reported on stderr, exit code 1.

Usage: ``python -m prover.lean.doubles.replay IN OUT`` (also ``prover lean replay IN OUT``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from prover.lean.errors import LeanError
from prover.lean.protocol import (
    ProtocolError,
    frame_response,
    iter_command_blocks,
    read_command_blocks,
    split_response_texts,
)


class ReplayMismatch(LeanError):
    """The client sent something the recording does not contain at this point."""


@dataclass(frozen=True)
class Recording:
    """Commands (parsed JSON, or the raw block when it is not JSON) paired with the response texts."""

    commands: list[Any]
    responses: list[str]
    source: str

    @classmethod
    def load(cls, commands_path: str | Path, responses_path: str | Path) -> Recording:
        cpath, rpath = Path(commands_path), Path(responses_path)
        for p in (cpath, rpath):
            if not p.is_file():
                raise ProtocolError(f"recording file not found: {p}")
        commands = [_parse_block(b) for b in iter_command_blocks(cpath.read_text(encoding="utf-8"))]
        responses = split_response_texts(rpath.read_text(encoding="utf-8"))
        if len(commands) != len(responses):
            raise ProtocolError(
                f"{cpath.name} has {len(commands)} commands but {rpath.name} has {len(responses)} responses"
            )
        for i, text in enumerate(responses):
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                raise ProtocolError(f"{rpath}: response {i + 1} is not JSON: {exc.msg}") from exc
        return cls(commands, responses, str(cpath))


def _parse_block(block: str) -> Any:
    try:
        return json.loads(block)
    except json.JSONDecodeError:
        return block


def serve(recording: Recording, stdin: BinaryIO, stdout: TextIO) -> int:
    """Answer ``stdin`` from ``recording``; raise ``ReplayMismatch`` on the first deviation."""
    index = 0
    lines = (raw.decode("utf-8", errors="replace") for raw in iter(stdin.readline, b""))
    for block in read_command_blocks(lines):
        if index >= len(recording.commands):
            raise ReplayMismatch(
                f"recording {recording.source} is exhausted after {index} commands; "
                f"got another: {block[:200]}"
            )
        got, want = _parse_block(block), recording.commands[index]
        if got != want:
            raise ReplayMismatch(
                f"command {index + 1} differs from {recording.source}:\n  expected: "
                f"{json.dumps(want, ensure_ascii=False)[:400]}\n  received: {block[:400]}"
            )
        stdout.write(frame_response(recording.responses[index]))
        stdout.flush()
        index += 1
    return index


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m prover.lean.doubles.replay COMMANDS.in RESPONSES.expected.out", file=sys.stderr
        )
        return 2
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    try:
        recording = Recording.load(args[0], args[1])
        serve(recording, sys.stdin.buffer, sys.stdout)
    except (ProtocolError, ReplayMismatch) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
