"""``prover data build-train``: read every source, split by theorem, write one JSONL file per task.

Splits are by theorem, never by step: the steps of one proof sit on one side only, otherwise validation
measures memorised proofs. The split of a theorem is a hash of its name (stable across rebuilds and machines,
independent of the order or the mix of sources); LeanDojo's published splits are kept as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from prover.training.records import Split, write_records
from prover.training.sources import (
    from_leandojo,
    from_run_dir,
    from_synth_dir,
    from_tactic_jsonl,
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


def build(inputs: BuildInputs, out_dir: Path, val: float = 0.1, test: float = 0.1, seed: int = 0) -> dict:
    """Write ``tactic.jsonl`` / ``critic.jsonl`` / ``premise.jsonl`` / ``proof.jsonl`` and ``build.json``."""
    if not 0 <= val < 1 or not 0 <= test < 1 or val + test >= 1:
        raise ValueError(f"split fractions val={val}, test={test} must be in [0, 1) and sum below 1")
    tasks: dict[str, list[BaseModel]] = {"tactic": [], "critic": [], "premise": [], "proof": []}
    for path in inputs.tactic_files:
        tasks["tactic"] += from_tactic_jsonl(path, inputs.lean, inputs.mathlib)
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
    for task, records in tasks.items():
        for r in records:
            if id(r) not in keep:
                r.split = split_of(r.theorem, val, test, seed)  # type: ignore[attr-defined]
        n = write_records(out_dir / f"{task}.jsonl", records)
        splits = Counter(r.split for r in records)  # type: ignore[attr-defined]
        theorems = {r.theorem for r in records}  # type: ignore[attr-defined]
        summary["tasks"][task] = {"records": n, "theorems": len(theorems), "splits": dict(splits)}
    summary["sources"] = {
        "tactic_files": [str(p) for p in inputs.tactic_files],
        "run_dirs": [str(p) for p in inputs.run_dirs],
        "synth_dirs": [str(p) for p in inputs.synth_dirs],
        "leandojo": str(inputs.leandojo) if inputs.leandojo else None,
        "premise_corpus": str(inputs.premise_corpus) if inputs.premise_corpus else None,
    }
    (out_dir / "build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
