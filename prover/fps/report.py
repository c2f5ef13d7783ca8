"""The ``prover solve`` report: Solved / NE-Submitted / Proven over N, by answer type, with the restatement
column and every submitted answer beside the ground truth (Markdown, from ``results.jsonl``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prover.evaluation.results import AttemptRecord


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
            "budget": self.budget,
        }


def summarise(records: Iterable[AttemptRecord]) -> Summary:
    """Counts over FPS records (each record's ``answer`` holds the FPS outcome)."""
    out = Summary()
    for r in records:
        fps = r.answer or {}
        status = str(fps.get("status", "error"))
        out.total += 1
        out.budget = out.budget or r.budget
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
        out.proven += bool(fps.get("proven"))
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
        f"Budget: {s.budget or 'n/a'}. N = {n}. Solved = submitted and RPE-correct; NE-Submitted = submitted "
        "(the whole problem recompiled with the answer substituted) but not RPE-correct; Proven = the backward "
        "(D-FPS `mpr`) direction, not run yet. Restated answers are counted apart, never hidden in Solved.",
        "",
        "| Solved | NE-Submitted | Proven | Restated (of which solved) | Invalid ground truth | Errors |",
        "|---|---|---|---|---|---|",
        f"| {_pct(s.solved, n)} | {_pct(s.ne_submitted, n)} | {_pct(s.proven, n)} | {s.restated} ({s.solved_restated}) "
        f"| {s.invalid} | {s.errors} |",
        "",
        "## By answer type",
        "",
        "| answer type | N | Solved | NE-Submitted | unsubmitted | invalid | error |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, c in sorted(s.by_type.items(), key=lambda kv: -kv[1]["total"]):
        lines.append(
            f"| {_cell(kind, 40)} | {c['total']} | {c['solved']} | {c['ne_submitted']} | {c['unsubmitted']} "
            f"| {c['invalid']} | {c['error']} |"
        )
    lines += [
        "",
        "## Answers",
        "",
        "| problem | status | answer | ground truth | restatement (or why not scored) |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        fps = r.answer or {}
        if fps.get("answer") is None and fps.get("status") not in ("invalid", "error"):
            continue
        why = "; ".join(fps.get("restatement") or []) or ("" if fps.get("answer") else fps.get("reason", ""))
        lines.append(
            f"| {_cell(r.problem, 40)} | {fps.get('status')} | `{_cell(fps.get('answer'))}` "
            f"| `{_cell(fps.get('ground_truth'))}` | {_cell(why)} |"
        )
    return "\n".join(lines) + "\n"
