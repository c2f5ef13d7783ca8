"""``prover prove`` runs from inside training: expert iteration's rounds and the generator's pass-rate check.

Both go through the evaluation API (:class:`prover.evaluation.run_dir.EvaluationRun`), so a round or a
validation run is an ordinary run directory (config, ``results.jsonl``, ``run.json``, saved trees) that
``prover report`` reads and that resumes after a kill like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf


def prove_run(cfg: DictConfig, run_dir: Path, *, save_trees: bool = True) -> dict[str, Any]:
    """Run (or resume) the prove config ``cfg`` in ``run_dir``; solved / finished counts and the pass rate."""
    from prover.evaluation.results import RESULTS, read_results
    from prover.evaluation.run_dir import EvaluationRun

    resume = (run_dir / "config.yaml").is_file()
    with EvaluationRun.prepare(cfg, run_dir, resume=resume, save_trees=save_trees) as run:
        run.execute()
    records = read_results(run_dir / RESULTS).records
    solved = sum(r.proved for r in records)
    return {"solved": solved, "finished": len(records), "pass_rate": solved / max(len(records), 1)}


def with_hf_generator(
    cfg: DictConfig, model: str, kind: str, prompt_template: str, **extra: Any
) -> DictConfig:
    """A copy of the prove config whose generator is the checkpoint ``model`` (``generator=hf``).

    When the config already names an ``hf`` generator its decoding keys (beams, sampling, device) are kept.
    """
    out = cast(DictConfig, OmegaConf.create(OmegaConf.to_container(cfg, resolve=False)))
    current = out.get("generator")
    base: dict[str, Any] = {}
    if isinstance(current, DictConfig) and current.get("name") == "hf":
        base = dict(OmegaConf.to_container(current, resolve=False))  # type: ignore[arg-type]
    base.update({"name": "hf", "model": model, "kind": kind, "prompt_template": prompt_template, **extra})
    out.generator = OmegaConf.create(base)
    return out
