"""Record a REPL conversation: a drop-in REPL process that tees a real one into ``X.in`` / ``X.expected.out``.

Put ``prover lean record --out X`` where the REPL command would go (``--repl-cmd`` of any client, or the
backend's ``command``): every byte the client sends is forwarded to the real REPL and appended to ``X.in``,
every byte the REPL prints is forwarded back and appended to ``X.expected.out``. The files are therefore
exactly in the format of the REPL's own test transcripts and can be replayed with ``prover lean replay``.
Bytes are copied unmodified and flushed as they pass, so a crash of either side leaves a usable prefix.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, BinaryIO


def _pump(src: IO[bytes], dst: IO[bytes] | None, log_file: IO[bytes], close_dst: bool) -> None:
    """Copy ``src`` to ``dst`` and ``log_file`` until EOF; a vanished ``dst`` ends the copy quietly."""
    read = getattr(src, "read1", src.read)
    try:
        while True:
            data = read(1 << 16)
            if not data:
                break
            log_file.write(data)
            log_file.flush()
            if dst is not None:
                try:
                    dst.write(data)
                    dst.flush()
                except (BrokenPipeError, OSError):
                    dst = None
    finally:
        if close_dst and dst is not None:
            with contextlib.suppress(OSError):
                dst.close()


def record(
    command: Sequence[str],
    out_prefix: str | Path,
    cwd: str | Path = ".",
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Run ``command`` as the REPL, tee-ing the conversation; returns the REPL's exit code."""
    if isinstance(command, str) or not command:
        raise ValueError("the REPL command must be a non-empty argv list")
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stdout = stdout if stdout is not None else sys.stdout.buffer
    prefix = Path(out_prefix)
    if prefix.parent and not prefix.parent.exists():
        prefix.parent.mkdir(parents=True)
    in_path = prefix.with_name(prefix.name + ".in")
    out_path = prefix.with_name(prefix.name + ".expected.out")
    try:
        proc = subprocess.Popen(
            list(command), cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
    except OSError as exc:
        raise ValueError(f"cannot start the REPL {list(command)!r}: {exc}") from exc
    assert proc.stdin is not None and proc.stdout is not None
    with open(in_path, "wb") as commands_log, open(out_path, "wb") as responses_log:
        to_repl = threading.Thread(target=_pump, args=(stdin, proc.stdin, commands_log, True), daemon=True)
        to_repl.start()
        _pump(proc.stdout, stdout, responses_log, False)
        code = proc.wait()
        # The REPL is gone: anything the client still sends cannot be answered, so stop forwarding.
        to_repl.join(timeout=0.5)
    return code
