"""(proof state, tactic) corpora in the JSON-lines format of the FPS search proof steps.

One object per line: ``source`` (problem id), ``step``, ``goals`` (list of pretty-printed goals), ``goal_id``
(the goal the tactic ran on) and ``tactic``. Lines are decoded one by one so that a bad byte or a bad record is
reported with its line number instead of aborting somewhere deep inside ``json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prover.generation.errors import GenerationError
from prover.jsonl import BadLine, json_object_lines


class TacticCorpusError(GenerationError):
    """A tactic corpus file that is missing or malformed (the message names the file and line).

    Not ``prover.retrieval.corpus.CorpusError``: that one is about premise corpora.
    """


@dataclass(frozen=True)
class ProofStep:
    source: str
    step: int
    goals: tuple[str, ...]
    goal_id: int
    tactic: str

    @property
    def state(self) -> str:
        """The state as ``TacticState.pp`` prints it (what text-only models read of a request)."""
        return "\n\n".join(self.goals)

    @property
    def focused_goal(self) -> str:
        return self.goals[self.goal_id] if 0 <= self.goal_id < len(self.goals) else self.goals[0]


def _parse(record: object, where: str) -> ProofStep:
    if not isinstance(record, dict):
        raise TacticCorpusError(f"{where}: expected a JSON object")
    goals = record.get("goals")
    tactic = record.get("tactic")
    if not isinstance(goals, list) or not goals or not all(isinstance(g, str) for g in goals):
        raise TacticCorpusError(f"{where}: 'goals' must be a non-empty list of strings")
    if not isinstance(tactic, str) or not tactic.strip():
        raise TacticCorpusError(f"{where}: 'tactic' must be a non-empty string")
    goal_id = record.get("goal_id", 0)
    if not isinstance(goal_id, int) or not 0 <= goal_id < len(goals):
        raise TacticCorpusError(f"{where}: 'goal_id' {goal_id!r} is not an index into 'goals'")
    step = record.get("step", 0)
    return ProofStep(
        str(record.get("source", "")),
        int(step) if isinstance(step, int) else 0,
        tuple(goals),
        goal_id,
        tactic.strip(),
    )


def load_corpus(path: str | Path) -> list[ProofStep]:
    """All steps of a corpus file; raises :class:`TacticCorpusError` naming the first bad line."""
    p = Path(path)
    if not p.is_file():
        raise TacticCorpusError(f"tactic corpus {p} does not exist")
    steps: list[ProofStep] = []
    for where, record in json_object_lines(p):
        if isinstance(record, BadLine):
            raise TacticCorpusError(record.describe())
        steps.append(_parse(record, where))
    if not steps:
        raise TacticCorpusError(f"tactic corpus {p} has no steps")
    return steps
