"""Reports of a run directory: Markdown + HTML, PNG plots, the found proofs as a checkable ``.lean`` file.

Everything is computed from ``results.jsonl`` alone (plus ``run.json``/``config.yaml`` when present), so a
report can be rebuilt at any time, also for a run that is still going or was killed.
"""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.evaluation.passk import k_values, mean_pass_at_k
from prover.evaluation.results import RESULTS, RUN_META, AttemptRecord, read_results


class ReportError(ValueError):
    """The directory is not a run (no results) or the comparison makes no sense."""


@dataclass
class RunSummary:
    """The numbers of one run that every report section uses."""

    name: str
    records: list[AttemptRecord]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def solved(self) -> list[AttemptRecord]:
        return [r for r in self.records if r.proved]

    @property
    def pass_rate(self) -> float:
        return len(self.solved) / self.total if self.total else 0.0

    @property
    def budget(self) -> str:
        budgets = Counter(r.budget for r in self.records)
        return budgets.most_common(1)[0][0] if budgets else "?"

    def statuses(self) -> Counter[str]:
        return Counter(r.status for r in self.records)

    def by_category(self) -> list[tuple[str, int, int]]:
        """``(category, solved, total)`` sorted by category."""
        total: Counter[str] = Counter(r.category for r in self.records)
        solved: Counter[str] = Counter(r.category for r in self.solved)
        return [(c, solved[c], total[c]) for c in sorted(total)]

    def pass_at_k(self) -> list[tuple[int, float]]:
        """Whole-proof runs: unbiased pass@k for k up to the smallest n; search runs: pass@1 = pass rate."""
        samples = [
            (int(r.samples["n"]), int(r.samples["c"]))
            for r in self.records
            if r.samples and int(r.samples.get("n", 0)) > 0
        ]
        if not samples or len(samples) < len(self.records):
            return [(1, self.pass_rate)]
        n_min = min(n for n, _ in samples)
        return [(k, mean_pass_at_k(samples, k)) for k in k_values(n_min)]

    def times(self) -> list[float]:
        return [r.time_s for r in self.records]

    def expansions(self) -> list[int]:
        return [int(r.stats.get("expansions", r.stats.get("samples", 0)) or 0) for r in self.records]


def load_run(run_dir: Path) -> RunSummary:
    path = run_dir / RESULTS
    if not path.is_file():
        raise ReportError(f"{run_dir}: no {RESULTS} (not a run directory)")
    records = read_results(path).records
    meta_path = run_dir / RUN_META
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    return RunSummary(run_dir.name, records, meta)


def _fmt_pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _distribution(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


# --- plots --------------------------------------------------------------------------------------------


def make_plots(run: RunSummary, out: Path, other: RunSummary | None = None) -> dict[str, Path]:
    """PNG plots (Agg backend): pass@k curve, category bars, time and expansion histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for summary in (run, other):
        if summary is None:
            continue
        points = summary.pass_at_k()
        ax.plot([k for k, _ in points], [100 * v for _, v in points], marker="o", label=summary.name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples / attempts)")
    ax.set_ylabel("pass@k (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"pass@k — budget {run.budget}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths["pass_at_k"] = out / "pass_at_k.png"
    fig.savefig(paths["pass_at_k"])
    plt.close(fig)

    cats = run.by_category()
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.4 * len(cats) + 1)), dpi=110)
    names = [c for c, _, _ in cats]
    ax.barh(names, [t for _, _, t in cats], color="#dddddd", label="attempted")
    ax.barh(names, [s for _, s, _ in cats], color="#2a7ab0", label="solved")
    for i, (_, s, t) in enumerate(cats):
        ax.text(t, i, f" {s}/{t}", va="center", fontsize=8)
    ax.set_xlabel("problems")
    ax.set_title("solved by category")
    ax.invert_yaxis()
    ax.set_xlim(0, 1.15 * max([t for _, _, t in cats] or [1]))
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    paths["categories"] = out / "categories.png"
    fig.savefig(paths["categories"])
    plt.close(fig)

    for key, values, label in (
        ("time", run.times(), "wall time per problem (s)"),
        ("expansions", run.expansions(), "expansions (search) / samples (whole proof)"),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
        solved_ids = {r.problem for r in run.solved}
        solved_vals = [v for r, v in zip(run.records, values, strict=True) if r.problem in solved_ids]
        other_vals = [v for r, v in zip(run.records, values, strict=True) if r.problem not in solved_ids]
        ax.hist(
            [solved_vals, other_vals],
            bins=20,
            stacked=True,
            label=["solved", "not solved"],
            color=["#2a7ab0", "#c8c8c8"],
        )
        ax.set_xlabel(label)
        ax.set_ylabel("problems")
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths[key] = out / f"{key}.png"
        fig.savefig(paths[key])
        plt.close(fig)
    return paths


# --- text sections --------------------------------------------------------------------------------------


def proofs_lean(run: RunSummary) -> str:
    """The verified proofs as one Lean file: each theorem under its own header, in its own namespace-free block.

    Headers differ between problems (imports, ``open``), so identical consecutive headers are written once
    and a changed header starts a new section after a comment; imports must come first in Lean, so all
    ``import`` lines are hoisted to the top.
    """
    from prover.lean.types import Theorem

    imports: list[str] = []
    blocks: list[str] = []
    for r in sorted(run.solved, key=lambda r: r.problem):
        header = str(r.model_extra.get("header", "")) if r.model_extra else ""
        statement = r.model_extra.get("statement") if r.model_extra else None
        if not statement or r.proof is None:
            continue
        rest = []
        for line in header.splitlines():
            if line.startswith("import "):
                if line not in imports:
                    imports.append(line)
            elif line.strip():
                rest.append(line)
        theorem = Theorem(r.theorem, str(statement), header)
        body = "\n".join(rest)
        section = f"section\n{body}\n\n" if body else "section\n"
        blocks.append(f"-- {r.problem}\n{section}{theorem.with_proof(r.proof)}\n\nend\n")
    top = "\n".join(imports or ["import Mathlib"])
    return (
        f"{top}\n\n-- Proofs found by lean-prover run {run.name}; check with `lake env lean FILE`.\n\n"
        + "\n".join(blocks)
    )


def comparison(a: RunSummary, b: RunSummary) -> dict[str, list[str]]:
    sa, sb = {r.problem for r in a.solved}, {r.problem for r in b.solved}
    common = {r.problem for r in a.records} & {r.problem for r in b.records}
    return {
        "both": sorted(sa & sb & common),
        "only_a": sorted((sa - sb) & common),
        "only_b": sorted((sb - sa) & common),
        "neither": sorted(common - sa - sb),
    }


def summary_json(run: RunSummary) -> dict[str, Any]:
    return {
        "run": run.name,
        "total": run.total,
        "solved": len(run.solved),
        "pass_rate": run.pass_rate,
        "budget": run.budget,
        "statuses": dict(run.statuses()),
        "pass_at_k": {str(k): v for k, v in run.pass_at_k()},
        "categories": {c: {"solved": s, "total": t} for c, s, t in run.by_category()},
        "time_s": _distribution(run.times()),
        "expansions": _distribution([float(x) for x in run.expansions()]),
        "model": run.meta.get("model"),
        "lean": run.meta.get("lean"),
        "mathlib": run.meta.get("mathlib"),
    }


def markdown(run: RunSummary, plots: dict[str, Path], other: RunSummary | None = None) -> str:
    s = summary_json(run)
    lines = [
        f"# Run {run.name}",
        "",
        f"**{s['solved']}/{s['total']} solved ({_fmt_pct(run.pass_rate)})** with budget "
        f"{run.budget} (N×S×T: attempts × tactics per expansion × expansions; whole-proof: × samples ×).",
        "",
        f"Model `{s['model']}`, Lean {s['lean']}, Mathlib {s['mathlib']}. "
        "Every counted proof passed `session.verify`.",
        "",
        "| status | problems |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(s["statuses"].items())]
    lines += ["", "## pass@k", "", "| k | pass@k |", "|---|---|"]
    lines += [f"| {k} | {_fmt_pct(v)} |" for k, v in run.pass_at_k()]
    lines += [
        "",
        f"![pass@k]({plots['pass_at_k'].name})",
        "",
        "## Solved by category",
        "",
        "| category | solved | total | rate |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c} | {sv} | {t} | {_fmt_pct(sv / t)} |" for c, sv, t in run.by_category()]
    lines += [
        "",
        f"![categories]({plots['categories'].name})",
        "",
        "## Time and expansions",
        "",
        "| | min | median | p90 | max | mean |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("time_s", "time (s)"), ("expansions", "expansions")):
        d = s[key]
        if d:
            lines.append(
                f"| {label} | "
                + " | ".join(f"{d[q]:.2f}" for q in ("min", "median", "p90", "max", "mean"))
                + " |"
            )
    lines += ["", f"![time]({plots['time'].name})", f"![expansions]({plots['expansions'].name})", ""]
    if other is not None:
        cmp = comparison(run, other)
        lines += [
            f"## Comparison with {other.name}",
            "",
            f"{run.name}: {len(run.solved)}/{run.total} ({_fmt_pct(run.pass_rate)}, {run.budget}); "
            f"{other.name}: {len(other.solved)}/{other.total} ({_fmt_pct(other.pass_rate)}, {other.budget}).",
            "",
            "| | problems |",
            "|---|---|",
            f"| solved by both | {len(cmp['both'])} |",
            f"| only {run.name} | {len(cmp['only_a'])} |",
            f"| only {other.name} | {len(cmp['only_b'])} |",
            f"| neither | {len(cmp['neither'])} |",
            "",
        ]
        for key, label in (("only_a", f"Only {run.name}"), ("only_b", f"Only {other.name}")):
            if cmp[key]:
                lines += [f"**{label}:** " + ", ".join(f"`{p}`" for p in cmp[key]), ""]
    lines += ["## Solved problems", ""]
    lines += [f"- `{r.problem}` ({r.time_s:.2f} s)" for r in sorted(run.solved, key=lambda r: r.problem)]
    rejected = [r for r in run.records if r.status == "unverified"]
    if rejected:
        lines += ["", "## Proofs rejected by verification", ""]
        lines += [
            f"- `{r.problem}`: {'; '.join((r.verification or {}).get('reasons', []))[:200]}" for r in rejected
        ]
    return "\n".join(lines) + "\n"


def html_page(md_text: str, title: str) -> str:
    """A self-contained HTML page from our own Markdown subset (headings, tables, images, lists, bold, code)."""
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}</style></head><body>",
    ]
    table: list[list[str]] = []

    def inline(text: str) -> str:
        import re

        text = html.escape(text)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    def flush() -> None:
        if table:
            head, *rows = table
            out.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append("</table>")
            table.clear()

    for line in md_text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-", ":"} for c in cells):
                table.append(cells)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            out.append(f"<img alt='{html.escape(alt)}' src='{html.escape(src.rstrip(')'))}'>")
        elif line.startswith("- "):
            out.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    flush()
    out.append("</body></html>")
    return "\n".join(out)


def write_report(run_dir: Path, compare: Path | None = None, out: Path | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``summary.json``, ``proofs.lean`` and the PNGs; return their paths."""
    run = load_run(run_dir)
    other = load_run(compare) if compare else None
    out = out or run_dir / "report"
    plots = make_plots(run, out, other)
    md_text = markdown(run, plots, other)
    files = {
        "markdown": out / "report.md",
        "html": out / "report.html",
        "summary": out / "summary.json",
        "proofs": out / "proofs.lean",
        **plots,
    }
    files["markdown"].write_text(md_text, encoding="utf-8")
    files["html"].write_text(html_page(md_text, f"Run {run.name}"), encoding="utf-8")
    data = summary_json(run)
    if other is not None:
        data["comparison"] = {"other": other.name, **comparison(run, other)}
    files["summary"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files["proofs"].write_text(proofs_lean(run), encoding="utf-8")
    return files
