"""The run directory's files: ``config.yaml``, ``run.json`` (versions) and the append-only ``results.jsonl``.

The lifecycle (preflight, creation, lock, resume rules) is :mod:`prover.evaluation.run_dir`.

One JSON line per finished problem, fsync'ed before the next, so a killed run loses at most the line it
was writing; a torn last line is cut off when the run resumes, and finished problems are never repeated.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

RESULTS = "results.jsonl"
CONFIG = "config.yaml"
RUN_META = "run.json"

#: Terminal statuses of one problem. Only ``proved`` counts: it means search/sampling found a proof AND
#: ``session.verify`` accepted it. ``unverified`` is a found proof the soundness guard rejected.
STATUSES = ("proved", "unverified", "failed", "budget_exhausted", "timeout", "error")


class RunError(RuntimeError):
    """The run directory is unusable (missing, belongs to another config, corrupt beyond the last line)."""


class AttemptRecord(BaseModel):
    """One line of ``results.jsonl``: everything needed to report or reproduce one problem's attempt."""

    model_config = ConfigDict(extra="allow")

    problem: str
    theorem: str
    split: str | None = None
    category: str = "other"
    status: str
    proof: str | None = None
    budget: str
    stats: dict[str, Any] = {}
    time_s: float
    verification: dict[str, Any] | None = None
    samples: dict[str, Any] | None = None
    #: one line saying why, for ``error`` results (listed by the report; rerun with ``--retry-errors``)
    error: str | None = None
    mode: str = "search"
    #: with ``--save-trees``: the path of this problem's search graph (file names are sanitised + hashed ids)
    tree: str | None = None
    model: str | None = None
    lean: str | None = None
    mathlib: str | None = None
    package: str | None = None
    worker: str | None = None
    finished_at: float = 0.0

    @property
    def proved(self) -> bool:
        return self.status == "proved"


@dataclass
class ReadResult:
    records: list[AttemptRecord]
    torn_tail: bool


def read_results(path: Path) -> ReadResult:
    """Every complete line; a torn (unterminated or undecodable) LAST line is ignored, elsewhere it is an error."""
    if not path.is_file():
        return ReadResult([], False)
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last "\n": empty when the file ends cleanly
    records: list[AttemptRecord] = []
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            records.append(AttemptRecord.model_validate_json(raw))
        except ValidationError as exc:
            reason = "; ".join(str(e.get("msg", "invalid")) for e in exc.errors()[:3])
            raise RunError(f"{path}:{i}: corrupt result line: {reason}") from None
        except ValueError as exc:
            raise RunError(f"{path}:{i}: corrupt result line: {str(exc).splitlines()[0]}") from None
    return ReadResult(records, bool(tail.strip()))


class ResultStore:
    """Appends records durably and knows which problems are finished."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / RESULTS
        existing = read_results(self.path)
        if existing.torn_tail:
            self._cut_torn_tail()
        self.records = existing.records
        self.finished = {r.problem for r in self.records}
        self._fh = self.path.open("a", encoding="utf-8")

    def _cut_torn_tail(self) -> None:
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        with self.path.open("r+b") as fh:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())

    def append(self, record: AttemptRecord) -> None:
        if record.problem in self.finished:
            return
        self._fh.write(record.model_dump_json() + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records.append(record)
        self.finished.add(record.problem)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_run_dir(runs_dir: Path, benchmark: str, search: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = runs_dir / f"{benchmark}-{search}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    return path


# --- versions recorded with every run -----------------------------------------------------------------


def lean_versions(project_dir: Path) -> dict[str, str | None]:
    """Lean from ``lean-toolchain``, Mathlib from the lakefile's ``require mathlib ... @ "rev"``."""
    lean = mathlib = None
    toolchain = project_dir / "lean-toolchain"
    if toolchain.is_file():
        lean = toolchain.read_text(encoding="utf-8").strip().split(":")[-1] or None
    for name in ("lakefile.lean", "lakefile.toml"):
        lakefile = project_dir / name
        if not lakefile.is_file():
            continue
        text = lakefile.read_text(encoding="utf-8")
        m = re.search(r'require\s+"?mathlib"?\s+from\s+git\s+"[^"]+"\s*@\s*"([^"]+)"', text)
        m = m or re.search(r'name\s*=\s*"mathlib"[^\[]*?rev\s*=\s*"([^"]+)"', text, re.DOTALL)
        if m:
            mathlib = m.group(1)
            break
    return {"lean": lean, "mathlib": mathlib}


def package_version() -> str:
    from prover import __version__

    return __version__


def iter_records(run_dir: Path) -> Iterator[AttemptRecord]:
    yield from read_results(run_dir / RESULTS).records


def write_run_meta(run_dir: Path, meta: dict[str, Any]) -> None:
    """Write ``run.json`` once (the first invocation's versions, model and load time)."""
    path = run_dir / RUN_META
    if not path.exists():
        _write_json_atomically(path, meta)


def note_resume(run_dir: Path, entry: dict[str, Any]) -> None:
    """Append one entry (when, command, load time) to ``run.json``'s ``resumes`` list; a torn file is rewritten."""
    path = run_dir / RUN_META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    meta.setdefault("resumes", []).append(entry)
    _write_json_atomically(path, meta)


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
