"""Pass rates of a synthesis run by level and by domain: ``summary.md`` and ``summary.png`` in the run directory.

A sample checked by a scripted world or another double (``prover.evaluation.versions.is_simulation`` of its
record, which carries the run's backend) is a simulation: the summary says so at the top, with how many.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.evaluation.versions import SIMULATION_NOTE, is_simulation


def pass_rates(records: Sequence[dict[str, Any]], key: str) -> list[tuple[str, int, int, int]]:
    """``(group, samples, verified, verified and not degenerate)`` per value of ``key``, sorted by group.

    ``error`` records (the model or a worker failed: no verdict) are left out: they say nothing about the
    model's pass rate, and ``--retry-errors`` writes them again."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("verdict") != "error":
            groups[str(r.get(key))].append(r)
    rows = []
    for name in sorted(groups):
        rs = groups[name]
        ok = [r for r in rs if r.get("verdict") == "verified"]
        rows.append((name, len(rs), len(ok), sum(1 for r in ok if not r.get("labels"))))
    return rows


def markdown(records: Sequence[dict[str, Any]]) -> str:
    verdicts = Counter(str(r.get("verdict")) for r in records)
    repaired = sum(1 for r in records if r.get("verdict") == "verified" and len(r.get("attempts", ())) > 1)
    lines = [f"# MUSTARD run: {len(records)} samples", "", *simulation_lines(records)]
    lines += [
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())),
        f"Verified after a repair round: {repaired}",
    ]
    if verdicts.get("error"):
        lines.append(
            f"Errors (no verdict, left out of the rates below; `--retry-errors` writes them again): "
            f"{verdicts['error']}"
        )
    for key, title in (("level", "Level"), ("domain", "Domain")):
        lines += [
            "",
            f"| {title} | samples | verified | pass rate | verified, not degenerate |",
            "|---|---|---|---|---|",
        ]
        for name, n, ok, clean in pass_rates(records, key):
            lines.append(f"| {name} | {n} | {ok} | {ok / n:.1%} | {clean} |")
    return "\n".join(lines) + "\n"


def simulation_lines(records: Sequence[dict[str, Any]]) -> list[str]:
    """The summary's simulation notice (and a blank line), or nothing when every sample was checked by Lean."""
    simulated = [r for r in records if is_simulation(r)]
    if not simulated:
        return []
    checked_by = "; ".join(sorted({str(r.get("backend")) for r in simulated}))
    if SIMULATION_NOTE not in checked_by:
        checked_by += f" ({SIMULATION_NOTE})"
    return [
        f"**Simulation:** {len(simulated)} of {len(records)} samples were checked by {checked_by}; their "
        "verdicts exercise the pipeline and say nothing about Lean or Mathlib.",
        "",
    ]


def plot(records: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key in zip(axes, ("level", "domain"), strict=True):
        rows = pass_rates(records, key)
        names = [r[0] for r in rows]
        ax.barh(names, [r[2] / r[1] for r in rows])
        ax.set_xlim(0, 1)
        ax.set_xlabel("pass rate (verified / samples)")
        ax.set_title(f"by {key}")
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_summary(records: Sequence[dict[str, Any]], run_dir: Path) -> tuple[Path, Path | None]:
    md = run_dir / "summary.md"
    md.write_text(markdown(records), encoding="utf-8")
    if not records:
        return md, None
    png = run_dir / "summary.png"
    plot(records, png)
    return md, png
