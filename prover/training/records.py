"""Training records: one JSON-lines format per task, every record carrying where it came from.

Why typed records: the files cross a boundary (built by one command, curated by another, read by trainers
possibly months later), so every field is validated on read and every record names its provenance (which
source, which Lean / Mathlib, which run or synthesis), without which mixed data cannot be audited or redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prover.jsonl import BadLine, json_object_lines
from prover.lean.statement import split_declaration
from prover.lean.types import Theorem
from prover.training.errors import TrainingError

Split = Literal["train", "val", "test"]
#: The task each file holds; ``<task>.jsonl`` in a data directory.
TASKS = ("tactic", "critic", "premise", "proof")
#: HunyuanProver's distance critic predicts 1..8 steps to ``no goals``.
MAX_DISTANCE = 8


class TrainingDataError(TrainingError):
    """A training data file or source that cannot be read (the message names it and the line)."""


class Provenance(BaseModel):
    """Where a record came from: enough to find (and redo) the run, file or synthesis that produced it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ``tactic-jsonl`` | ``prove-run`` | ``leandojo`` | ``synth``
    source: str
    #: the file or run directory read
    origin: str
    lean: str | None = None
    mathlib: str | None = None
    #: the run (``prove-run``) or synthesis id, or LeanDojo's repository commit
    run_id: str | None = None
    #: the judge that accepted a ``prove-run``'s proofs (its ``run.json``); ``simulation``: a scripted world
    judge: str | None = None
    #: the proofs were accepted by a simulation (scripted world, a double), never by Lean
    simulation: bool = False


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the theorem (or problem) the record belongs to: the split key
    theorem: str
    split: Split = "train"
    provenance: Provenance


class TacticExample(_Record):
    """A (state, tactic) pair: the tactic was run on ``goals[goal_id]``; ``after`` is the state it left."""

    goals: list[str] = Field(min_length=1)
    goal_id: int = 0
    tactic: str = Field(min_length=1)
    #: the goals after the tactic, when known (lets curation drop tactics that changed nothing)
    after: list[str] | None = None
    #: premises the tactic used (LeanDojo annotations), when known
    premises: list[str] = []

    @property
    def focused_goal(self) -> str:
        return self.goals[self.goal_id] if 0 <= self.goal_id < len(self.goals) else self.goals[0]


class CriticExample(_Record):
    """A state of a saved search tree: on a proof or not, and if so how many steps from ``no goals``."""

    goals: list[str] = Field(min_length=1)
    on_proof: bool
    #: steps to ``no goals`` along the shortest proof, capped to 1..MAX_DISTANCE; ``None`` off the proofs
    distance: int | None = Field(default=None, ge=1, le=MAX_DISTANCE)


class PremiseExample(_Record):
    """A state and the premises the tactic applied to it used (for the premise retriever)."""

    goals: list[str] = Field(min_length=1)
    premises: list[str] = Field(min_length=1)
    #: the file each premise is defined in, parallel to ``premises`` (in-file hard negatives), when known
    premise_files: list[str] = []
    #: the file of the theorem (accessibility of in-file negatives), when known
    file: str | None = None


class ProofExample(_Record):
    """A verified whole proof (statement -> proof), for whole-proof training.

    ``prover synth`` checks a sample's proof as one declaration and records no intermediate states, so its
    samples give (statement, proof) pairs, not (state, tactic) pairs; the proved problems of ``prover prove``
    runs give them too (their statement, header and checked tactic script).
    """

    #: the formal statement (``theorem name ... : type``), as whole-proof search shows it to the model
    statement: str = Field(min_length=1)
    #: the whole checked declaration (statement and proof)
    proof: str = Field(min_length=1)
    #: the informal problem, when the synthesis wrote one
    informal: str | None = None
    #: the Lean name search passes as the theorem's name (default: the name declared in ``statement``)
    name: str | None = None
    #: the imports / opens the statement is checked under (``prover prove`` problems carry one)
    header: str = ""
    #: degeneracy labels from synthesis (``trivial: norm_num``, ``contradictory: …``); curation can drop them
    labels: list[str] = Field(default_factory=list)

    def lean_theorem(self) -> Theorem:
        """The theorem as whole-proof search receives it (name, statement, header)."""
        name = self.name
        if name is None:
            try:
                name = split_declaration(self.statement).name
            except ValueError:
                name = ""
        return Theorem(name or self.theorem, self.statement, self.header)

    def script(self) -> str | None:
        """The tactic script after ``:= by`` (dedented), i.e. what whole-proof search wants from the model;
        ``None`` for a term-mode proof or a declaration the lexer cannot split."""
        try:
            body = split_declaration(self.proof).proof
        except ValueError:
            return None
        body = (body or "").lstrip()
        if body[:2] != "by" or (len(body) > 2 and not body[2].isspace()):
            return None
        first, *rest = body[2:].split("\n")
        indents = [len(line) - len(line.lstrip()) for line in rest if line.strip()]
        cut = min(indents, default=0)
        lines = ([first.strip()] if first.strip() else []) + [line[cut:].rstrip() for line in rest]
        script = "\n".join(lines).strip("\n")
        return script or None


RECORD_TYPES: dict[str, type[_Record]] = {
    "tactic": TacticExample,
    "critic": CriticExample,
    "premise": PremiseExample,
    "proof": ProofExample,
}
R = TypeVar("R", bound=_Record)


def normalise(text: str) -> str:
    """Whitespace-insensitive form used for de-duplication and tactic comparison."""
    return " ".join(text.split())


def read_records(path: str | Path, cls: type[R]) -> list[R]:
    """Every record of a task file; the first bad line raises :class:`TrainingDataError` naming it."""
    p = Path(path)
    if not p.is_file():
        raise TrainingDataError(f"training data file {p} does not exist")
    out: list[R] = []
    for where, obj in json_object_lines(p):
        if isinstance(obj, BadLine):
            raise TrainingDataError(obj.describe())
        try:
            out.append(cls.model_validate(obj))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(x) for x in err.get("loc", ())) or "(record)"
            raise TrainingDataError(f"{where}: {key}: {err.get('msg', 'invalid')}") from None
    return out


def iter_task_files(data_dir: str | Path) -> Iterator[tuple[str, Path]]:
    """``(task, path)`` for each task file present in a data directory."""
    for task in TASKS:
        path = Path(data_dir) / f"{task}.jsonl"
        if path.is_file():
            yield task, path


def write_records(path: str | Path, records: Iterable[BaseModel]) -> int:
    """Write atomically (temporary file, then rename): a killed build never leaves half a file behind."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n")
            n += 1
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(p)
    return n
