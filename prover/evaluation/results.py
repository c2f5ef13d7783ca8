"""The run directory's files: ``config.yaml``, ``run.json`` (versions) and the append-only ``results.jsonl``.

The lifecycle (preflight, creation, lock, resume rules) is :mod:`prover.evaluation.run_dir`.

One JSON line per finished problem, fsync'ed before the next, so a killed run loses at most the line it
was writing; a torn last line is cut off when the run resumes, and finished problems are never repeated.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from prover.evaluation.benchmarks import Problem
from prover.evaluation.errors import EvaluationError
from prover.lean.types import Theorem, Verdict
from prover.search.api import SampleCounts
from prover.search.status import ProofStatus

RESULTS = "results.jsonl"
CONFIG = "config.yaml"
RUN_META = "run.json"


class RunError(EvaluationError, RuntimeError):
    """The run directory is unusable (missing, belongs to another config, corrupt beyond the last line)."""


class AttemptRecord(BaseModel):
    """One line of ``results.jsonl``: everything needed to report or reproduce one problem's attempt.

    The worker builds it (problem, outcome, verdict), the driver adds what ran (model, versions) and writes
    it. Only ``status == proved`` counts: search or sampling found a proof AND ``session.verify`` accepted
    it (the judge decides; ``judge`` names it). Building one with an unknown key is an error; :meth:`from_line` ignores keys of lines written by
    older versions that this one no longer knows.
    """

    model_config = ConfigDict(extra="forbid")

    problem: str
    theorem: str
    #: the theorem's header and statement, so a report can print a checkable ``proofs.lean``
    header: str = ""
    statement: str = ""
    split: str | None = None
    category: str = "other"
    status: ProofStatus
    proof: str | None = None
    budget: str
    #: ``SearchStats.to_json()`` (empty for a problem that ended in an error before searching)
    stats: dict[str, Any] = {}
    attempts: int | None = None
    time_s: float
    #: the judge's verdict on ``proof`` (whole proof, not proved: why the samples were rejected)
    verification: Verdict | None = None
    #: which judge decides this run's proofs (``comparator`` | ``repl`` | ``simulation`` | ``session``)
    judge: str | None = None
    #: how Lean processes were isolated (``backend.sandbox``: ``bwrap`` | ``none``; None: not reported)
    sandbox: str | None = None
    #: whole-proof sampling: pass@k's n and c
    samples: SampleCounts | None = None
    #: tokens the model server reported for this problem, for any searcher (``generator=openai``; 0: a local
    #: model or a server that reports none); also in ``stats``
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: one line saying why, for ``error`` results (listed by the report; rerun with ``--retry-errors``)
    error: str | None = None
    mode: str = "search"
    #: ``prover solve`` (``prover.fps``): the formal-problem-solving outcome (answer, submission, checks)
    answer: dict[str, Any] | None = None
    #: with ``--save-trees``: the path of this problem's search graph (file names are sanitised + hashed ids)
    tree: str | None = None
    model: str | None = None
    backend: str | None = None
    lean: str | None = None
    mathlib: str | None = None
    package: str | None = None
    worker: str | None = None
    finished_at: float = 0.0

    @classmethod
    def of(cls, problem: Problem, **outcome: Any) -> AttemptRecord:
        """The record of ``problem`` with ``outcome``'s fields: the one place the problem's fields are copied."""
        outcome.setdefault("time_s", 0.0)
        return cls(
            problem=problem.id,
            theorem=problem.theorem.name,
            header=problem.theorem.header,
            statement=problem.theorem.statement,
            split=problem.split,
            category=problem.category,
            **outcome,
        )

    @classmethod
    def from_line(cls, raw: bytes | str) -> AttemptRecord:
        """One ``results.jsonl`` line; raises ``ValueError`` (or ``ValidationError``) when it is not a record."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got a JSON {type(data).__name__}")
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})

    @property
    def proved(self) -> bool:
        return self.status is ProofStatus.PROVED

    @property
    def lean_theorem(self) -> Theorem:
        """The theorem this record is about (for ``Theorem.with_proof``)."""
        return Theorem(self.theorem, self.statement, self.header)

    @field_serializer("verification")
    def _verdict_json(self, verdict: Verdict | None) -> dict[str, object] | None:
        return verdict.to_json() if verdict is not None else None

    @field_serializer("samples")
    def _samples_json(self, samples: SampleCounts | None) -> dict[str, Any] | None:
        return samples.to_json() if samples is not None else None


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
            records.append(AttemptRecord.from_line(raw))
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


# --- versions recorded with every run (Lean's and Mathlib's: ``prover.evaluation.versions``) --------------


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


def read_run_meta(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of ``run_dir`` as an object; ``{}`` when absent, unreadable or not an object (a reader that
    must refuse such a run, as ``prover report`` does, reads the file itself)."""
    try:
        meta = json.loads((run_dir / RUN_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def note_resume(run_dir: Path, entry: dict[str, Any]) -> None:
    """Append one entry (when, command, load time) to ``run.json``'s ``resumes`` list; a torn file is rewritten."""
    meta = read_run_meta(run_dir)
    meta.setdefault("resumes", []).append(entry)
    _write_json_atomically(run_dir / RUN_META, meta)


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
