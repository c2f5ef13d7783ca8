"""The ``prover solve`` report: Solved / NE-Submitted / Proven over N, by answer type, with the restatement
column and every submitted answer beside the ground truth (Markdown, from ``results.jsonl``)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.evaluation.results import RUN_META, AttemptRecord, read_results

#: The FPS report's file name in a run directory (``prover solve`` and ``prover report`` write it).
REPORT_FILE = "report.md"


@dataclass
class Summary:
    total: int = 0
    solved: int = 0
    ne_submitted: int = 0
    proven: int = 0
    restated: int = 0
    solved_restated: int = 0
    invalid: int = 0
    errors: int = 0
    budget: str = ""
    #: D-FPS: the backward (``mpr``) search's own budget (empty when none was run)
    backward_budget: str = ""
    by_type: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def to_json(self) -> dict[str, Any]:
        n = max(self.total, 1)
        return {
            "total": self.total,
            "solved": self.solved,
            "ne_submitted": self.ne_submitted,
            "proven": self.proven,
            "restated": self.restated,
            "solved_restated": self.solved_restated,
            "invalid": self.invalid,
            "errors": self.errors,
            "solved_rate": self.solved / n,
            "ne_submitted_rate": self.ne_submitted / n,
            "proven_rate": self.proven / n,
            "budget": self.budget,
            "backward_budget": self.backward_budget,
        }


def summarise(records: Iterable[AttemptRecord]) -> Summary:
    """Counts over FPS records (each record's ``answer`` holds the FPS outcome)."""
    out = Summary()
    for r in records:
        fps = r.answer or {}
        status = str(fps.get("status", "error"))
        out.total += 1
        out.budget = out.budget or r.budget
        out.backward_budget = out.backward_budget or str((fps.get("backward") or {}).get("budget") or "")
        out.by_type[r.category]["total"] += 1
        out.by_type[r.category][status] += 1
        restated = bool(fps.get("restated"))
        out.restated += restated
        if status == "solved":
            out.solved += 1
            out.solved_restated += restated
        elif status == "ne_submitted":
            out.ne_submitted += 1
        elif status == "invalid":
            out.invalid += 1
        elif status == "error":
            out.errors += 1
        proven = bool(fps.get("proven"))
        out.proven += proven
        out.by_type[r.category]["proven"] += proven
    return out


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.2f}%)" if n else "0"


def _cell(text: object, width: int = 80) -> str:
    s = " ".join(str(text or "").split()).replace("|", "\\|")
    return s if len(s) <= width else s[: width - 1] + "…"


def markdown(records: list[AttemptRecord], title: str = "prover solve") -> str:
    s = summarise(records)
    n = s.total
    lines = [
        f"# {title}",
        "",
        f"Budget: {s.budget or 'n/a'}"
        + (f" (backward `mpr` search: {s.backward_budget})" if s.backward_budget else "")
        + f". N = {n}. Solved = submitted and RPE-correct; NE-Submitted = submitted "
        "(the whole problem recompiled with the answer substituted) but not RPE-correct; Proven = solved and "
        "formally proved: for D-FPS the backward (`mpr`) direction of the submission searched and verified, for "
        "FPS equal to Solved (the substituted recompile is the full proof). Restated answers are counted apart, "
        "never hidden in Solved.",
        "",
        "| Solved | NE-Submitted | Proven | Restated (of which solved) | Invalid ground truth | Errors |",
        "|---|---|---|---|---|---|",
        f"| {_pct(s.solved, n)} | {_pct(s.ne_submitted, n)} | {_pct(s.proven, n)} | {s.restated} ({s.solved_restated}) "
        f"| {s.invalid} | {s.errors} |",
        "",
        "## By answer type",
        "",
        "| answer type | N | Solved | NE-Submitted | Proven | unsubmitted | invalid | error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, c in sorted(s.by_type.items(), key=lambda kv: -kv[1]["total"]):
        lines.append(
            f"| {_cell(kind, 40)} | {c['total']} | {c['solved']} | {c['ne_submitted']} | {c['proven']} | {c['unsubmitted']} "
            f"| {c['invalid']} | {c['error']} |"
        )
    lines += [
        "",
        "## Answers",
        "",
        "| problem | status | proven | answer | ground truth | restatement (or why not scored) |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        fps = r.answer or {}
        if fps.get("answer") is None and fps.get("status") not in ("invalid", "error"):
            continue
        why = "; ".join(fps.get("restatement") or []) or ("" if fps.get("answer") else fps.get("reason", ""))
        lines.append(
            f"| {_cell(r.problem, 40)} | {fps.get('status')} | {'yes' if fps.get('proven') else 'no'} "
            f"| `{_cell(fps.get('answer'))}` "
            f"| `{_cell(fps.get('ground_truth'))}` | {_cell(why)} |"
        )
    return "\n".join(lines) + "\n"


def _meta(run_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((run_dir / RUN_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def is_solve_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` was written by ``prover solve`` (its ``run.json`` names a solver, or its records
    are ``solve-*`` records)."""
    if "solver" in _meta(run_dir):
        return True
    records = read_results(run_dir / "results.jsonl").records
    return any(str(r.mode or "").startswith("solve-") for r in records)


def write_solve_report(run_dir: Path, ids: Collection[str] | None = None) -> tuple[Path, Summary]:
    """(Re)write ``RUN_DIR/report.md`` from ``results.jsonl`` (only ``ids`` when given; the last record of a
    problem wins) and return its path with the counts."""
    records: dict[str, AttemptRecord] = {}
    for r in read_results(run_dir / "results.jsonl").records:
        if ids is None or r.problem in ids:
            records[r.problem] = r
    bench = _meta(run_dir).get("benchmark")
    name = bench.get("name") if isinstance(bench, dict) else None
    chosen = list(records.values())
    path = run_dir / REPORT_FILE
    path.write_text(markdown(chosen, f"prover solve: {name or run_dir.name}"), encoding="utf-8")
    return path, summarise(chosen)
