"""``prover train report RUN_DIR``: a training run's loss and validation curves as PNG in an HTML page.

Reads only ``metrics.jsonl`` (written by :func:`prover.training.runs.metrics_callback`), so it works on a run
still going, a killed one, or one copied off a GPU machine. One curve per metric key: ``loss`` (train),
every ``eval_*`` key (validation), ``learning_rate``. A resumed run re-logs steps; the last value wins.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from prover.training.records import TrainingDataError
from prover.training.runs import METRICS, read_metrics

#: keys that are bookkeeping, not curves
_SKIP = {"step", "epoch", "time", "total_flos", "train_runtime", "eval_runtime"}


@dataclass
class Curve:
    key: str
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def curves(run_dir: str | Path) -> dict[str, Curve]:
    """``key -> Curve`` (points sorted by step, one per step) from a run's ``metrics.jsonl``."""
    rows = read_metrics(run_dir)
    if not rows:
        raise TrainingDataError(
            f"{Path(run_dir) / METRICS}: missing or empty (not a training run directory?)"
        )
    points: dict[str, dict[int, float]] = {}
    for row in rows:
        step = row.get("step")
        if not isinstance(step, int):
            continue
        for key, value in row.items():
            if key in _SKIP or key.endswith(("_per_second", "_samples_per_second")):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                points.setdefault(key, {})[step] = float(value)
    out = {}
    for key, by_step in sorted(points.items()):
        steps = sorted(by_step)
        out[key] = Curve(key, steps, [by_step[s] for s in steps])
    return out


def _plot(curve: Curve, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(curve.steps, curve.values, marker="o" if len(curve.steps) < 30 else None)
    ax.set_xlabel("step")
    ax.set_ylabel(curve.key)
    ax.set_title(curve.key)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_training_report(run_dir: str | Path, out: str | Path | None = None) -> dict:
    """Write ``index.html`` and one PNG per curve into ``out`` (default ``RUN_DIR/report``)."""
    run = Path(run_dir).resolve()
    found = curves(run)
    folder = Path(out).resolve() if out else run / "report"
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"<html><head><meta charset='utf-8'><title>{html.escape(run.name)}</title></head><body>"]
    parts.append(f"<h1>Training run {html.escape(str(run))}</h1>")
    pngs = {}
    for key, curve in found.items():
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in key) + ".png"
        _plot(curve, folder / name)
        pngs[key] = str(folder / name)
        last = curve.values[-1]
        parts.append(
            f"<h2>{html.escape(key)}</h2><p>{len(curve.steps)} points, last {last:.4g} "
            f"at step {curve.steps[-1]}</p><img src='{html.escape(name)}' alt='{html.escape(key)}'>"
        )
    parts.append("</body></html>")
    page = folder / "index.html"
    page.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return {
        "run": str(run),
        "html": str(page),
        "png": pngs,
        "points": {k: len(c.steps) for k, c in found.items()},
    }
