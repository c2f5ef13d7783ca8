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

from prover.evaluation.errors import EvaluationError
from prover.evaluation.passk import k_values, mean_pass_at_k
from prover.evaluation.results import CONFIG, RESULTS, RUN_META, AttemptRecord, read_results
from prover.evaluation.versions import SIMULATION_NOTE, describe_versions, is_simulation


class ReportError(EvaluationError, ValueError):
    """The directory is not a run (no results) or the comparison makes no sense."""


@dataclass
class RunSummary:
    """The numbers of one run that every report section uses."""

    name: str
    records: list[AttemptRecord]
    meta: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

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
        """Whole-proof runs: unbiased pass@k for k up to the smallest n; search runs: pass@1 = pass rate.

        Fail closed: a problem the judge did not accept (not ``proved``) counts with c = 0, whatever its samples'
        own checks said; the judge has the last word on every problem. A problem with no judged sample (an error,
        a timeout before the first verdict) counts 0 at every k and does not shorten the curve."""
        samples = [
            (r.samples.n, r.samples.c if r.proved else 0)
            for r in self.records
            if r.samples and r.samples.n > 0
        ]
        if not samples:
            return [(1, self.pass_rate)]
        n_min = min(n for n, _ in samples)
        share = len(samples) / len(self.records)
        return [(k, mean_pass_at_k(samples, k) * share) for k in k_values(n_min)]

    def coverage(self) -> list[tuple[int, int]]:
        """Whole-proof runs: ``(s, problems solved within their first s samples)`` for s = 1, 2, 4, …, max n.

        A problem counts at ``s`` when it is proved (the judge accepted it) and its first correct sample was
        at most the s-th judged; search runs (no samples) have no curve.
        """
        with_samples = [r for r in self.records if r.samples is not None and r.samples.n > 0]
        if not with_samples:
            return []
        firsts = [
            r.samples.first_correct
            for r in with_samples
            if r.proved and r.samples is not None and r.samples.first_correct is not None
        ]
        n_max = max(r.samples.n for r in with_samples if r.samples is not None)
        return [(k, sum(1 for f in firsts if f <= k)) for k in k_values(n_max)]

    def problem_tokens(self, record: AttemptRecord) -> tuple[int, int]:
        """``(prompt, completion)`` tokens of one problem, any searcher (records written before tree search
        counted tokens have them in ``samples`` only)."""
        if record.prompt_tokens or record.completion_tokens:
            return record.prompt_tokens, record.completion_tokens
        if record.samples is not None:
            return record.samples.prompt_tokens, record.samples.completion_tokens
        return 0, 0

    def tokens(self) -> dict[str, int]:
        """Tokens the model server reported, summed over problems (0 for local models)."""
        rows = [r.samples for r in self.records if r.samples is not None]
        per_problem = [self.problem_tokens(r) for r in self.records]
        return {
            "prompt": sum(p for p, _ in per_problem),
            "completion": sum(c for _, c in per_problem),
            "samples": sum(x.n for x in rows),
            "repaired": sum(x.repaired for x in rows),
        }

    def not_solved(self) -> list[AttemptRecord]:
        """Every problem without a verified proof, errors first, then by id."""
        rest = [r for r in self.records if not r.proved]
        return sorted(rest, key=lambda r: (r.status != "error", r.status, r.problem))

    @property
    def load_s(self) -> float | None:
        """Set-up time (session start + model load), kept out of every problem's ``time_s`` (run.json)."""
        value = self.meta.get("load_s")
        return float(value) if isinstance(value, int | float) else None

    def times(self) -> list[float]:
        return [r.time_s for r in self.records]

    def expansions(self) -> list[int]:
        """Expansions of a search, samples checked of a whole-proof run (the budget's unit of work)."""
        return [
            r.samples.n if r.samples is not None else int(r.stats.get("expansions", 0) or 0)
            for r in self.records
        ]


def load_run(run_dir: Path) -> RunSummary:
    path = run_dir / RESULTS
    if not path.is_file():
        raise ReportError(f"{run_dir}: no {RESULTS} (not a run directory)")
    records = read_results(path).records
    meta_path = run_dir / RUN_META
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise ReportError(f"{meta_path} is corrupt: {exc}") from None
    if not isinstance(meta, dict):
        raise ReportError(f"{meta_path} is not a JSON object")
    return RunSummary(run_dir.name, records, meta, load_config_dict(run_dir))


def load_config_dict(run_dir: Path) -> dict[str, Any]:
    """The run's saved ``config.yaml`` as a plain dict (interpolations kept as written); {} when absent."""
    from omegaconf import OmegaConf

    path = run_dir / CONFIG
    if not path.is_file():
        return {}
    try:
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception as exc:  # yaml / OmegaConf errors all mean "unreadable"
        raise ReportError(f"{path} is corrupt ({type(exc).__name__})") from None
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"search": {"name": "bfs"}}`` -> ``{"search.name": "bfs"}`` (lists kept whole)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def config_diff(a: RunSummary, b: RunSummary) -> list[tuple[str, Any, Any]]:
    """``(key, value in a, value in b)`` for every config key that differs (missing keys: ``None``)."""
    fa, fb = flatten(a.config), flatten(b.config)
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def benchmark_warning(run: RunSummary) -> str | None:
    """The manifest's warning when the run's benchmark was written for another Lean than the one that ran
    (or, when no Lean ran or its version is unknown, than the pinned one)."""
    from prover.evaluation.manifest import ManifestError, load_manifest
    from prover.evaluation.versions import pinned_versions

    bench = run.meta.get("benchmark") or run.config.get("benchmark") or {}
    name = bench.get("name") if isinstance(bench, dict) else None
    if not name:
        return None
    try:
        entry = load_manifest().get(str(name))
    except ManifestError:
        return None
    lean = run.meta.get("lean")
    if not lean or lean == "unknown" or run.meta.get("backend") is None:
        lean = pinned_versions().get("lean")
    return entry.version_warning(lean)


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


def _distribution_line(values: list[float]) -> str:
    """``median 1,234, mean 1,500, max 4,000`` (tokens per problem)."""
    d = _distribution(values)
    return f"median {d['median']:,.0f}, mean {d['mean']:,.0f}, max {d['max']:,.0f}" if d else "none"


# --- plots --------------------------------------------------------------------------------------------


def has_pass_at_k_curve(run: RunSummary, other: RunSummary | None = None) -> bool:
    """A curve needs two k values; a single pass@1 is reported as a number, not as a one-point plot."""
    return any(len(r.pass_at_k()) > 1 for r in (run, other) if r is not None)


def _plot_title(run: RunSummary, title: str) -> str:
    """A chart's title, led by ``SIMULATION`` when the run used a scripted world or a double: a PNG copied out
    of the report must not read as Lean's result."""
    return f"SIMULATION (no Lean) — {title}" if is_simulation(run.meta) else title


def make_plots(run: RunSummary, out: Path, other: RunSummary | None = None) -> dict[str, Path]:
    """PNG plots (Agg backend): pass@k curve, category bars, time and expansion histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    if has_pass_at_k_curve(run, other):
        fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
        for summary in (run, other):
            if summary is None:
                continue
            points = summary.pass_at_k()
            ax.plot([k for k, _ in points], [100 * v for _, v in points], marker="o", label=summary.name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (samples / attempts)")
        ax.set_ylabel("pass@k (%)")
        ax.set_ylim(-2, 102)  # points at 0 % and 100 % stay visible
        ax.set_title(_plot_title(run, f"pass@k — budget {run.budget}"))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths["pass_at_k"] = out / "pass_at_k.png"
        fig.savefig(paths["pass_at_k"])
        plt.close(fig)
    else:
        (out / "pass_at_k.png").unlink(missing_ok=True)  # a stale plot of an earlier report would mislead

    if len(run.coverage()) > 1:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
        for summary in (run, other):
            if summary is None or not summary.coverage():
                continue
            covered = summary.coverage()
            ax.step(
                [k for k, _ in covered], [v for _, v in covered], where="post", marker="o", label=summary.name
            )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("samples per problem (judging order, repairs included)")
        ax.set_ylabel("problems solved")
        ax.set_title(_plot_title(run, "coverage: samples vs solved"))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths["coverage"] = out / "coverage.png"
        fig.savefig(paths["coverage"])
        plt.close(fig)
    else:
        (out / "coverage.png").unlink(missing_ok=True)

    cats = run.by_category()
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.4 * len(cats) + 1)), dpi=110)
    names = [c for c, _, _ in cats]
    ax.barh(names, [t for _, _, t in cats], color="#dddddd", label="attempted")
    ax.barh(names, [s for _, s, _ in cats], color="#2a7ab0", label="solved")
    for i, (_, s, t) in enumerate(cats):
        ax.text(t, i, f" {s}/{t}", va="center", fontsize=8)
    ax.set_xlabel("problems")
    ax.set_title(_plot_title(run, "solved by category"))
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
        if is_simulation(run.meta):  # the other plots' titles say it; an untitled plot would not
            ax.set_title(_plot_title(run, label))
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
    imports: list[str] = []
    blocks: list[str] = []
    for r in sorted(run.solved, key=lambda r: r.problem):
        if not r.statement or r.proof is None:
            continue
        rest = []
        for line in r.header.splitlines():
            if line.startswith("import "):
                if line not in imports:
                    imports.append(line)
            elif line.strip():
                rest.append(line)
        body = "\n".join(rest)
        section = f"section\n{body}\n\n" if body else "section\n"
        blocks.append(f"-- {r.problem}\n{section}{r.lean_theorem.with_proof(r.proof)}\n\nend\n")
    top = "\n".join(imports or ["import Mathlib"])
    found = f"-- Proofs found by lean-prover run {run.name}; check with `lake env lean FILE`.\n"
    if is_simulation(run.meta):
        found += (
            f"-- SIMULATION: this run used a scripted world ({SIMULATION_NOTE}); no Lean found or checked these\n"
            "-- proofs, and Lean may well reject them.\n"
        )
    return f"{top}\n\n{found}\n" + "\n".join(blocks)


def comparison(a: RunSummary, b: RunSummary) -> dict[str, list[str]]:
    sa, sb = {r.problem for r in a.solved}, {r.problem for r in b.solved}
    common = {r.problem for r in a.records} & {r.problem for r in b.records}
    return {
        "both": sorted(sa & sb & common),
        "only_a": sorted((sa - sb) & common),
        "only_b": sorted((sb - sa) & common),
        "neither": sorted(common - sa - sb),
    }


def _detail(record: AttemptRecord) -> str:
    """Why a problem is not solved, in one line: the error, the verifier's reasons, or the status."""
    if record.error:
        text = record.error
    elif record.verification and record.verification.reasons:
        text = "; ".join(record.verification.reasons)
    else:
        text = {
            "failed": "search space exhausted without a proof",
            "budget_exhausted": "expansion budget used up",
            "timeout": "time limit reached",
        }.get(record.status, record.status)
    line = " ".join(str(text).split())
    return line if len(line) <= 200 else line[:199] + "…"


def summary_json(run: RunSummary) -> dict[str, Any]:
    return {
        "run": run.name,
        "total": run.total,
        "solved": len(run.solved),
        "pass_rate": run.pass_rate,
        "budget": run.budget,
        "statuses": dict(run.statuses()),
        "pass_at_k": {str(k): v for k, v in run.pass_at_k()},
        "coverage": [[k, v] for k, v in run.coverage()],
        "tokens": run.tokens(),
        "categories": {c: {"solved": s, "total": t} for c, s, t in run.by_category()},
        "time_s": _distribution(run.times()),
        "load_s": run.load_s,
        "expansions": _distribution([float(x) for x in run.expansions()]),
        "model": run.meta.get("model"),
        "backend": run.meta.get("backend"),
        "lean": run.meta.get("lean"),
        "mathlib": run.meta.get("mathlib"),
        "judge": run.meta.get("judge"),
        "sandbox": run.meta.get("sandbox"),
        "benchmark_warning": benchmark_warning(run),
        "not_solved": [
            {"problem": r.problem, "status": r.status, "detail": _detail(r)} for r in run.not_solved()
        ],
    }


def _cell(value: Any) -> str:
    text = (
        "—"
        if value is None
        else json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str)
        else value
    )
    return "`" + text.replace("|", "/").replace("`", "'")[:80] + "`"


def markdown(run: RunSummary, plots: dict[str, Path], other: RunSummary | None = None) -> str:
    s = summary_json(run)
    lead = (  # said before the headline figure, as the solve report does: a scripted world is not Lean
        [
            f"**Simulation:** {run.meta.get('backend')}; no Lean ran, so no result below was checked by Lean.",
            "",
        ]
        if is_simulation(run.meta)
        else []
    )
    lines = [
        f"# Run {run.name}",
        "",
        *lead,
        f"**{s['solved']}/{s['total']} solved ({_fmt_pct(run.pass_rate)})** with budget "
        f"{run.budget} (N×S×T: attempts × tactics per expansion × expansions; whole-proof: × samples ×).",
        "",
        f"Model `{s['model']}`; {describe_versions(run.meta)}. Every counted proof was accepted by "
        + (f"the judge `{s['judge']}`" if s["judge"] else "`session.verify`")
        + (" of that simulation, not of Lean." if run.meta.get("backend") and s["lean"] is None else "."),
        "",
    ]
    if s["benchmark_warning"]:
        lines += [f"**Warning:** {s['benchmark_warning']}.", ""]
    if run.load_s is not None:
        lines += [
            f"Set-up (Lean session start and model load): {run.load_s:.2f} s, not counted in any problem's time.",
            "",
        ]
    per_problem = [sum(run.problem_tokens(r)) for r in run.records]
    if any(per_problem):
        tok = s["tokens"]
        lines += [
            f"Tokens reported by the model server: {tok['prompt']:,} prompt + {tok['completion']:,} completion; "
            f"per problem {_distribution_line([float(t) for t in per_problem])}.",
            "",
        ]
    lines += ["| status | problems |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(s["statuses"].items())]
    points = run.pass_at_k()
    if "pass_at_k" in plots:
        lines += ["", "## pass@k", "", "| k | pass@k |", "|---|---|"]
        lines += [f"| {k} | {_fmt_pct(v)} |" for k, v in points]
        lines += ["", f"![pass@k]({plots['pass_at_k'].name})"]
    else:
        k, v = points[0]
        lines += [
            "",
            "## pass@k",
            "",
            f"**pass@{k} = {_fmt_pct(v)}** (one attempt per problem: no curve to plot).",
        ]
    cover = run.coverage()
    if cover:
        tok = s["tokens"]
        lines += [
            "",
            "## Coverage (samples vs solved)",
            "",
            f"{tok['samples']} samples judged ({tok['repaired']} answering repair turns); "
            f"{tok['prompt']:,} prompt + {tok['completion']:,} completion tokens reported by the server.",
            "",
            "| samples | solved | rate |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v} | {_fmt_pct(v / run.total if run.total else 0.0)} |" for k, v in cover]
        if "coverage" in plots:
            lines += ["", f"![coverage]({plots['coverage'].name})"]
    lines += [
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
        diff = config_diff(run, other)
        lines += ["### How the configurations differ", ""]
        if not run.config or not other.config:
            lines += ["(a run has no config.yaml: nothing to compare)", ""]
        elif not diff:
            lines += ["The two runs used the same configuration.", ""]
        else:
            lines += [f"| key | {run.name} | {other.name} |", "|---|---|---|"]
            lines += [f"| `{k}` | {_cell(a)} | {_cell(b)} |" for k, a, b in diff]
            lines += [""]
    lines += ["## Solved problems", ""]
    lines += [f"- `{r.problem}` ({r.time_s:.2f} s)" for r in sorted(run.solved, key=lambda r: r.problem)]
    unsolved = run.not_solved()
    if unsolved:
        lines += [
            "",
            "## Not solved (failed, errors, rejected proofs)",
            "",
            "| problem | status | why |",
            "|---|---|---|",
        ]
        lines += [f"| `{r.problem}` | {r.status} | {_detail(r).replace('|', '/')} |" for r in unsolved]
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
        data["comparison"] = {
            "other": other.name,
            **comparison(run, other),
            "config_diff": [{"key": k, run.name: a, other.name: b} for k, a, b in config_diff(run, other)],
        }
    files["summary"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files["proofs"].write_text(proofs_lean(run), encoding="utf-8")
    return files
