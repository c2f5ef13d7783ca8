"""``prover data curate``: prune (state, tactic) data by rules that are each a switch (after MPS-Prover).

Rules run in a fixed order and each reports how many records it removed, so a user can see what a switch
costs: de-duplication after whitespace normalisation, tactics that left the state unchanged, down-sampling of
frequent ineffective tactics, and (optionally) problems a cheap search already solves (BFS-Prover's filter).
Down-sampling is deterministic (a hash of the record), so curating twice gives the same file. Whole proofs
(``proof.jsonl``) have one rule: synthesised statements labelled degenerate (a trivial conclusion,
contradictory hypotheses) are dropped (``drop_degenerate``); the other task files are copied as built.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prover.training.records import (
    ProofExample,
    TacticExample,
    iter_task_files,
    normalise,
    read_records,
    write_records,
)
from prover.training.settings import CurateSettings
from prover.training.sources import tree_tactic_stats


@dataclass
class CurationReport:
    before: int
    removed: dict[str, int] = field(default_factory=dict)
    after: int = 0
    ineffective: list[str] = field(default_factory=list)


def _dedupe(records: list[TacticExample], _: CurateSettings) -> list[TacticExample]:
    seen: set[tuple[str, str]] = set()
    out = []
    for r in records:
        key = ("\n\n".join(normalise(g) for g in r.goals), normalise(r.tactic))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _unchanged(records: list[TacticExample], _: CurateSettings) -> list[TacticExample]:
    def same(r: TacticExample) -> bool:
        return r.after is not None and [normalise(g) for g in r.after] == [normalise(g) for g in r.goals]

    return [r for r in records if not same(r)]


def _keep_fraction(r: TacticExample, fraction: float, seed: int) -> bool:
    key = f"{seed}:{r.theorem}:{normalise(r.tactic)}:{'|'.join(r.goals)}"
    u = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return u < fraction


def ineffective_tactics(records: Sequence[TacticExample], settings: CurateSettings) -> list[str]:
    """Tactics to cap: rarely on a proof path in the trees (when given), else simply the too frequent."""
    counts = Counter(normalise(r.tactic) for r in records)
    cap = settings.max_share * len(records)
    frequent = {t for t, n in counts.items() if n > cap}
    if not settings.tree_runs:
        return sorted(frequent)
    tried: Counter[str] = Counter()
    proved: Counter[str] = Counter()
    for run in settings.tree_runs:
        for tactic, (a, b) in tree_tactic_stats(run).items():
            tried[tactic] += a
            proved[tactic] += b
    return sorted(
        t
        for t in frequent
        if tried[t] >= settings.min_tries and proved[t] / tried[t] < settings.min_proof_rate
    )


def _downsample(records: list[TacticExample], settings: CurateSettings) -> list[TacticExample]:
    bad = set(ineffective_tactics(records, settings))
    if not bad:
        return records
    counts = Counter(normalise(r.tactic) for r in records)
    cap = max(1.0, settings.max_share * len(records))
    return [
        r
        for r in records
        if normalise(r.tactic) not in bad
        or _keep_fraction(r, cap / counts[normalise(r.tactic)], settings.seed)
    ]


def _easy(records: list[TacticExample], settings: CurateSettings) -> list[TacticExample]:
    from prover.evaluation.results import RESULTS, read_results

    solved: set[str] = set()
    for run in settings.easy_runs:
        if not (Path(run) / RESULTS).is_file():
            # a missing run would silently turn the filter off
            raise ValueError(f"easy_runs: {run} is not a `prover prove` run directory (no {RESULTS})")
        solved |= {r.problem for r in read_results(Path(run) / RESULTS).records if r.proved}
    return [r for r in records if r.theorem not in solved]


RULES: list[tuple[str, str, Callable[[list[TacticExample], CurateSettings], list[TacticExample]]]] = [
    ("dedupe", "dedupe", _dedupe),
    ("drop_unchanged", "drop_unchanged", _unchanged),
    ("downsample_ineffective", "downsample_ineffective", _downsample),
    ("drop_easy", "drop_easy", _easy),
]


def curate(
    records: list[TacticExample], settings: CurateSettings
) -> tuple[list[TacticExample], CurationReport]:
    """Apply the enabled rules in order; the report counts what each removed (0 for a disabled rule)."""
    report = CurationReport(before=len(records))
    current = list(records)
    for name, switch, rule in RULES:
        if not getattr(settings, switch):
            report.removed[name] = 0
            continue
        if name == "downsample_ineffective":
            report.ineffective = ineffective_tactics(current, settings)
        kept = rule(current, settings)
        report.removed[name] = len(current) - len(kept)
        current = kept
    report.after = len(current)
    return current, report


def curate_proofs(records: list[ProofExample], settings: CurateSettings) -> list[ProofExample]:
    """Whole proofs kept: without the degenerate ones when ``drop_degenerate`` (synthesis labels them)."""
    return [r for r in records if not (settings.drop_degenerate and r.labels)]


def curate_dir(data: Path, out: Path, settings: CurateSettings) -> CurationReport:
    """Curate a ``prover data build-train`` directory into ``out``: ``tactic.jsonl`` by the rules,
    ``proof.jsonl`` by :func:`curate_proofs` (counted as ``drop_degenerate``), every other task file copied."""
    import shutil

    if out.resolve() == data.resolve():
        raise ValueError("--out must differ from the input directory (the input is kept as it was)")
    kept, report = curate(read_records(data / "tactic.jsonl", TacticExample), settings)
    out.mkdir(parents=True, exist_ok=True)
    report.removed["drop_degenerate"] = 0
    for task, path in iter_task_files(data):
        if task == "proof":
            proofs = read_records(path, ProofExample)
            chosen = curate_proofs(proofs, settings)
            report.removed["drop_degenerate"] = len(proofs) - len(chosen)
            write_records(out / path.name, chosen)
        elif task != "tactic":
            shutil.copyfile(path, out / path.name)
    write_records(out / "tactic.jsonl", kept)
    return report
