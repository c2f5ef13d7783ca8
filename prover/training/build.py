"""``prover data build-train``: read every source, split by theorem *and by text*, write one JSONL file per task.

Splits are by theorem, never by step: the steps of one proof sit on one side only, otherwise validation
measures memorised proofs. A theorem id alone is not enough: the FPS sets hold the same problem under
different ids, and synthesis repeats statements word for word, so 36% of held-out steps once had their goal in
training. So theorems are grouped (union-find) with every other theorem that shares a normalised goal (step
data: the focused goal of a tactic, the state of a critic / premise record) or a normalised statement (whole
proofs: whitespace-normalised, declaration name and ``:= ...`` tail removed), and each group takes the split
of a hash of its smallest theorem id. Identical whole proofs (same normalised statement and proof) are kept
once. ``build.json`` reports the leak that remains (held-out records whose text is also in train; 0 unless
LeanDojo's published splits, kept as they are, put the same text on two sides).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from prover.training.records import (
    CriticExample,
    PremiseExample,
    ProofExample,
    Split,
    TacticExample,
    normalise,
    write_records,
)
from prover.training.sources import (
    from_leandojo,
    from_run_dir,
    from_synth_dir,
    from_tactic_jsonl,
    is_simulation_run,
    proofs_from_run_dir,
    synth_tactics,
)


def split_of(theorem: str, val: float, test: float, seed: int = 0) -> Split:
    """``train`` / ``val`` / ``test`` from a hash of the theorem name (fractions ``val`` and ``test``)."""
    digest = hashlib.sha256(f"{seed}:{theorem}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test:
        return "test"
    if u < test + val:
        return "val"
    return "train"


_DECL_NAME = re.compile(r"^((?:private |protected |noncomputable )*(?:theorem|lemma|def|abbrev))\s+\S+")
_PROOF_TAIL = re.compile(r"\s*:=\s*(?:by\s*(?:sorry)?|sorry)?\s*$")


def statement_key(statement: str) -> str:
    """A statement as text to compare: whitespace-normalised, without its declaration name or ``:= by sorry``
    tail (two problems that differ only in their names are the same problem); ``example`` reads as ``theorem``."""
    text = normalise(statement)
    text = _PROOF_TAIL.sub("", text)
    text = re.sub(r"^example\b", "theorem _", text)
    text = _DECL_NAME.sub(r"\1 _", text)
    return re.sub(r"^((?:private |protected |noncomputable )*)lemma ", r"\1theorem ", text)


def text_key(record: BaseModel) -> str:
    """What must not appear on two sides of the split: a tactic's focused goal, a critic / premise state, a
    whole proof's statement."""
    if isinstance(record, TacticExample):
        return "goal:" + normalise(record.focused_goal)
    if isinstance(record, CriticExample | PremiseExample):
        return "state:" + "\n\n".join(normalise(g) for g in record.goals)
    if isinstance(record, ProofExample):
        return "statement:" + statement_key(record.statement)
    raise TypeError(f"not a training record: {type(record).__name__}")


class _Groups:
    """Union-find over theorem ids (path halving); a group's representative is its smallest id."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def assign_splits(records: Sequence[BaseModel], val: float, test: float, seed: int = 0) -> dict[str, int]:
    """Set each record's split: theorems sharing a text key (:func:`text_key`) form one group, and a group's
    split is :func:`split_of` its smallest theorem id. Returns the group count and the largest group's size."""
    groups = _Groups()
    first_of_text: dict[str, str] = {}
    for r in records:
        theorem = r.theorem  # type: ignore[attr-defined]
        groups.find(theorem)
        key = text_key(r)
        if key in first_of_text:
            groups.union(first_of_text[key], theorem)
        else:
            first_of_text[key] = theorem
    sizes = Counter(groups.find(t) for t in list(groups.parent))
    for r in records:
        r.split = split_of(groups.find(r.theorem), val, test, seed)  # type: ignore[attr-defined]
    return {"groups": len(sizes), "largest_group_theorems": max(sizes.values(), default=0)}


def split_leak(records: Sequence[BaseModel]) -> dict[str, float | int]:
    """Held-out (val / test) records whose text key (:func:`text_key`) also occurs in the train split."""
    train = {text_key(r) for r in records if r.split == "train"}  # type: ignore[attr-defined]
    held = [r for r in records if r.split != "train"]  # type: ignore[attr-defined]
    leaked = sum(text_key(r) in train for r in held)
    return {"held_out": len(held), "leaked": leaked, "rate": round(leaked / len(held), 4) if held else 0.0}


def dedupe_proofs(records: Sequence[ProofExample]) -> list[ProofExample]:
    """Whole proofs kept once per (normalised statement, normalised proof): a repeated synthesis sample would
    otherwise count twice in training (or straddle the split under two ids)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in records:
        # the declaration's name is not part of the proof: two samples that differ only in it are one proof
        key = (statement_key(r.statement), statement_key(r.proof))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


@dataclass
class BuildInputs:
    tactic_files: list[Path] = field(default_factory=list)
    run_dirs: list[Path] = field(default_factory=list)
    leandojo: Path | None = None
    leandojo_split: str = "random"
    #: ``prover synth`` run directories: their verified samples become ``proof.jsonl`` (whole proofs)
    synth_dirs: list[Path] = field(default_factory=list)
    lean: str | None = None
    mathlib: str | None = None
    #: a premise corpus: (state, used premises) pairs are also read off the tactic text of every source
    #: without LeanDojo's annotations (``prover.training.premise_use``)
    premise_corpus: Path | None = None
    #: keep synthesised whole proofs labelled degenerate (trivial conclusion, contradictory hypotheses); off:
    #: they are dropped here, so a whole-proof training on uncurated ``proof.jsonl`` never learns them
    keep_degenerate: bool = False


def build(inputs: BuildInputs, out_dir: Path, val: float = 0.1, test: float = 0.1, seed: int = 0) -> dict:
    """Write ``tactic.jsonl`` / ``critic.jsonl`` / ``premise.jsonl`` / ``proof.jsonl`` and ``build.json``."""
    if not 0 <= val < 1 or not 0 <= test < 1 or val + test >= 1:
        raise ValueError(f"split fractions val={val}, test={test} must be in [0, 1) and sum below 1")
    tasks: dict[str, list[BaseModel]] = {"tactic": [], "critic": [], "premise": [], "proof": []}
    for path in inputs.tactic_files:
        tasks["tactic"] += from_tactic_jsonl(path, inputs.lean, inputs.mathlib)
    simulated = [str(run) for run in inputs.run_dirs if is_simulation_run(run)]
    for run in inputs.run_dirs:
        tac, crit = from_run_dir(run)
        tasks["tactic"] += tac
        tasks["critic"] += crit
        tasks["proof"] += proofs_from_run_dir(run)
    for run in inputs.synth_dirs:
        tasks["proof"] += from_synth_dir(run)
        tasks["tactic"] += synth_tactics(run)
    published = []
    if inputs.leandojo is not None:
        tac, prem = from_leandojo(inputs.leandojo, inputs.leandojo_split)
        published = tac + prem
        tasks["tactic"] += tac
        tasks["premise"] += prem
    keep = {id(r) for r in published}  # LeanDojo's records: published split, annotated premises
    if inputs.premise_corpus is not None:
        from prover.retrieval.corpus import read_any_corpus
        from prover.training.premise_use import premise_examples

        unannotated = [r for r in tasks["tactic"] if id(r) not in keep]
        tasks["premise"] += premise_examples(unannotated, read_any_corpus(inputs.premise_corpus))  # type: ignore[arg-type]
    summary: dict = {"out_dir": str(out_dir.resolve()), "val": val, "test": test, "seed": seed, "tasks": {}}
    if not inputs.keep_degenerate:
        labelled = [r for r in tasks["proof"] if r.labels]  # type: ignore[attr-defined]
        tasks["proof"] = [r for r in tasks["proof"] if not r.labels]  # type: ignore[attr-defined]
        summary["proof_degenerate_dropped"] = len(labelled)
    proofs_before = len(tasks["proof"])
    tasks["proof"] = list[BaseModel](dedupe_proofs(tasks["proof"]))  # type: ignore[arg-type]
    summary["proof_duplicates_dropped"] = proofs_before - len(tasks["proof"])
    # one grouping over every task, so a problem's steps, states and whole proof share a side
    summary["split_groups"] = assign_splits(
        [r for records in tasks.values() for r in records if id(r) not in keep], val, test, seed
    )
    for task, records in tasks.items():
        n = write_records(out_dir / f"{task}.jsonl", records)
        splits = Counter(r.split for r in records)  # type: ignore[attr-defined]
        theorems = {r.theorem for r in records}  # type: ignore[attr-defined]
        summary["tasks"][task] = {
            "records": n,
            "theorems": len(theorems),
            "splits": dict(splits),
            "leak": split_leak(records),
        }
    summary["sources"] = {
        "tactic_files": [str(p) for p in inputs.tactic_files],
        "run_dirs": [str(p) for p in inputs.run_dirs],
        "synth_dirs": [str(p) for p in inputs.synth_dirs],
        "leandojo": str(inputs.leandojo) if inputs.leandojo else None,
        "premise_corpus": str(inputs.premise_corpus) if inputs.premise_corpus else None,
    }
    # runs judged by a scripted world: their records carry ``provenance.simulation`` (the CLI refuses them
    # unless --allow-simulation; this says which, so the data never passes for Lean-checked)
    summary["simulation_runs"] = simulated
    (out_dir / "build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
