"""The ``prover solve`` report: the paper's columns (Solved / NE-Submitted / Proven over N) and the RPE
verdicts, then what is beside them (restated answers, ground truths that do not elaborate, errors), by answer
type, and every submitted answer beside the ground truth (Markdown, from ``results.jsonl``). A run on a
scripted world says "simulation" at the top."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.evaluation.results import AttemptRecord, read_results, read_run_meta
from prover.evaluation.versions import SIMULATION_NOTE, describe_versions, is_simulation

#: The FPS report's file name in a run directory (``prover solve`` and ``prover report`` write it).
REPORT_FILE = "report.md"


#: The paper's columns and their definitions (README "Formal problem solving"; the reference's
#: ``README.md`` "Baseline Performance" and ``evaluation_results.ipynb``), over N = every selected problem.
DEFINITIONS = (
    "Solved = submitted, verified and RPE-correct (reference: a non-empty `submission` whose `eq_proof` is "
    "not None); NE-Submitted = submitted but not Solved (reference: submitted − solved; an answer that does "
    "not re-parse or whose proof our checks refuse counts here, as there); Proven = the separate proving run "
    "with the ground-truth answer given found a proof that the judge accepted (reference: "
    "`init_backward_state`, `only_proving=True`). RPE verdicts: over the submitted answers, whether Lean proved "
    "`(answer = (sub : T)) ↔ (formal_answer)` (D-FPS: `(sub) ↔ (formal_answer)`)."
)


@dataclass
class Summary:
    total: int = 0
    solved: int = 0
    ne_submitted: int = 0
    proven: int = 0
    #: RPE verdicts over the submitted answers: correct / not proved equivalent / not run (refused text)
    rpe_correct: int = 0
    rpe_incorrect: int = 0
    rpe_not_run: int = 0
    restated: int = 0
    solved_restated: int = 0
    #: the ground truth does not elaborate on the pinned Mathlib: not scored, not a failure of the solver
    invalid: int = 0
    errors: int = 0
    #: D-FPS: the backward (``mpr``) direction of the submission proved (not the paper's Proven)
    backward_proved: int = 0
    budget: str = ""
    #: D-FPS: the backward (``mpr``) search's own budget (empty when none was run)
    backward_budget: str = ""
    #: the ground-truth proving run's budget (empty when none was run)
    proving_budget: str = ""
    by_type: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def to_json(self) -> dict[str, Any]:
        n = max(self.total, 1)
        return {
            "total": self.total,
            "solved": self.solved,
            "ne_submitted": self.ne_submitted,
            "proven": self.proven,
            "rpe_correct": self.rpe_correct,
            "rpe_incorrect": self.rpe_incorrect,
            "rpe_not_run": self.rpe_not_run,
            "restated": self.restated,
            "solved_restated": self.solved_restated,
            "invalid": self.invalid,
            "errors": self.errors,
            "backward_proved": self.backward_proved,
            "solved_rate": self.solved / n,
            "ne_submitted_rate": self.ne_submitted / n,
            "proven_rate": self.proven / n,
            "budget": self.budget,
            "backward_budget": self.backward_budget,
            "proving_budget": self.proving_budget,
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
        out.proving_budget = out.proving_budget or str((fps.get("proving") or {}).get("budget") or "")
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
        if status in ("solved", "ne_submitted"):
            rpe = (fps.get("check") or {}).get("rpe")
            if not isinstance(rpe, dict):
                out.rpe_not_run += 1
            elif rpe.get("correct"):
                out.rpe_correct += 1
            else:
                out.rpe_incorrect += 1
        proven = bool(fps.get("proven"))
        out.proven += proven
        out.by_type[r.category]["proven"] += proven
        out.backward_proved += (fps.get("backward") or {}).get("status") == "proved"
    return out


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.2f}%)" if n else "0"


def _cell(text: object, width: int = 80) -> str:
    s = " ".join(str(text or "").split()).replace("|", "\\|")
    return s if len(s) <= width else s[: width - 1] + "…"


def markdown(
    records: list[AttemptRecord],
    title: str = "prover solve",
    backend: str = "",
    simulation: bool | None = None,
) -> str:
    """The report. ``backend``: what answered (``describe_versions`` of the run); a scripted world is named a
    simulation at the top, since its figures say nothing about Lean or a model. ``simulation``: the run's
    ``is_simulation`` (None: read from ``backend``)."""
    s = summarise(records)
    n = s.total
    simulation = SIMULATION_NOTE in backend if simulation is None else simulation
    lines = [f"# {title}", ""]
    if simulation:
        lines += [
            f"**Simulation:** {backend}. A scripted world answered every Lean question; these figures "
            "exercise the pipeline and say nothing about Lean, Mathlib or a model.",
            "",
        ]
    elif backend:
        lines += [f"Backend: {backend}.", ""]
    lines += [
        f"Budget: {s.budget or 'n/a'}"
        + (f" (proving run: {s.proving_budget})" if s.proving_budget else "")
        + (f" (backward `mpr` search: {s.backward_budget})" if s.backward_budget else "")
        + f". N = {n}. {DEFINITIONS}",
        "",
        "| Solved | NE-Submitted | Proven |",
        "|---|---|---|",
        f"| {_pct(s.solved, n)} | {_pct(s.ne_submitted, n)} | {_pct(s.proven, n)} |",
        "",
        "RPE verdicts on the submitted answers:",
        "",
        "| RPE correct | RPE not proved equivalent | RPE not run (answer refused) |",
        "|---|---|---|",
        f"| {s.rpe_correct} | {s.rpe_incorrect} | {s.rpe_not_run} |",
        "",
        "Beside the paper's columns (never folded into them):",
        "",
        "| Restated (of which solved) | Ground truth does not elaborate (not scored) | Errors"
        + (" | Backward `mpr` proved (D-FPS) |" if s.backward_budget else " |"),
        "|---|---|---|" + ("---|" if s.backward_budget else ""),
        f"| {s.restated} ({s.solved_restated}) | {s.invalid} | {s.errors}"
        + (f" | {s.backward_proved} |" if s.backward_budget else " |"),
        "",
        "## By answer type",
        "",
        "| answer type | N | Solved | NE-Submitted | Proven | unsubmitted | ground truth invalid | error |",
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


def is_solve_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` was written by ``prover solve`` (its ``run.json`` names a solver, or its records
    are ``solve-*`` records)."""
    if "solver" in read_run_meta(run_dir):
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
    meta = read_run_meta(run_dir)
    bench = meta.get("benchmark")
    name = bench.get("name") if isinstance(bench, dict) else None
    chosen = list(records.values())
    path = run_dir / REPORT_FILE
    backend = describe_versions(meta) if meta else ""
    text = markdown(chosen, f"prover solve: {name or run_dir.name}", backend, is_simulation(meta))
    path.write_text(text, encoding="utf-8")
    return path, summarise(chosen)
