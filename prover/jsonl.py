"""Reading JSON-lines files that come from outside (corpora, benchmarks): one reader, the caller's policy.

Every such file is untrusted input, so each line is decoded strictly, parsed, and checked to be an object;
what is wrong with a bad line is reported with its ``path:line``. Whether a bad line stops the load or is
skipped and reported is the caller's decision, made on the :class:`BadLine` it receives.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class BadLine:
    """A non-blank line that is not a JSON object: where it is, what kind of problem, and the detail."""

    where: str
    kind: Literal["utf8", "json", "object"]
    detail: str

    def describe(self) -> str:
        """``path:line: not UTF-8 (...)`` / ``not JSON: ...`` / ``expected a JSON object, got ...``."""
        what = {"utf8": f"not UTF-8 ({self.detail})", "json": f"not JSON: {self.detail}"}.get(
            self.kind, f"expected a JSON object, got {self.detail}"
        )
        return f"{self.where}: {what}"


def json_object_lines(path: Path, label: str | None = None) -> Iterator[tuple[str, dict[str, Any] | BadLine]]:
    """Yield ``(where, object)`` for each non-blank line, or ``(where, BadLine)`` for one that is not an object.

    ``where`` is ``label:line`` (``label`` defaults to the path as given).
    """
    with Path(path).open("rb") as handle:
        yield from json_object_stream(handle, str(path) if label is None else label)


def json_object_stream(lines: Iterable[bytes], label: str) -> Iterator[tuple[str, dict[str, Any] | BadLine]]:
    """As :func:`json_object_lines`, for raw byte lines from anywhere (``sys.stdin.buffer``, a socket file).

    ``label`` names the source in ``where`` (e.g. ``<stdin>``).
    """
    for number, raw in enumerate(lines, start=1):
        where = f"{label}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield where, BadLine(where, "utf8", f"{exc.reason} at byte {exc.start}")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, BadLine(where, "json", f"{exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield where, BadLine(where, "object", type(obj).__name__)
            continue
        yield where, obj
