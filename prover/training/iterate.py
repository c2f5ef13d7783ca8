"""``prover train train=expert_iteration``: prove -> collect -> curate -> train -> prove again, N rounds.

Every round lives in ``OUTPUT_DIR/round-R/``: ``prove/`` (a normal ``prover prove`` run directory with saved
trees), ``data/`` (built from the proofs of this and every earlier round plus the configured tactic files),
``curated/``, ``generator/`` (a normal training run: ``model/`` is the round's checkpoint) and ``round.json``
(pass rate, counts, checkpoint), written last. A killed loop resumes where it stopped: a round with
``round.json`` is done; a prove run resumes from its ``results.jsonl``; training resumes from its last
checkpoint. Round 0 proves with the configured generator; round R > 0 with round R-1's checkpoint through
``generator=hf``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from prover.training.build import BuildInputs, build
from prover.training.curate import curate
from prover.training.records import TacticExample, read_records, write_records
from prover.training.settings import ExpertIterationSettings


def _prove(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    from prover.evaluation.results import RESULTS, read_results
    from prover.evaluation.run_dir import EvaluationRun

    resume = (run_dir / "config.yaml").is_file()
    with EvaluationRun.prepare(cfg, run_dir, resume=resume, save_trees=True) as run:
        run.execute()
    records = read_results(run_dir / RESULTS).records
    solved = sum(r.proved for r in records)
    return {"solved": solved, "finished": len(records), "pass_rate": solved / max(len(records), 1)}


def round_config(cfg: DictConfig, settings: ExpertIterationSettings, model: str | None) -> DictConfig:
    """The prove config of a round: the configured one, with the previous round's checkpoint as generator."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    if model is not None:
        g = settings.generator
        out.generator = OmegaConf.create(
            {"name": "hf", "model": model, "kind": g.kind, "prompt_template": g.prompt_template}
        )
    return out


def iterate(cfg: DictConfig, settings: ExpertIterationSettings) -> dict[str, Any]:
    from prover.training.generator import train_generator

    out = Path(settings.output_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    history: list[dict[str, Any]] = []
    model: str | None = None
    for r in range(settings.rounds):
        rd = out / f"round-{r}"
        done = rd / "round.json"
        if done.is_file():
            info = json.loads(done.read_text(encoding="utf-8"))
            history.append(info)
            model = info["model"]
            continue
        rd.mkdir(parents=True, exist_ok=True)
        proved = _prove(round_config(cfg, settings, model), rd / "prove")
        runs = [out / f"round-{i}" / "prove" for i in range(r + 1)]
        inputs = BuildInputs(tactic_files=[Path(p) for p in settings.tactics], run_dirs=runs)
        built = build(inputs, rd / "data", val=settings.val, test=0.0, seed=settings.seed)
        # the saved trees of the rounds so far tell which frequent tactics are ineffective
        rules = settings.curate.model_copy(
            update={"tree_runs": settings.curate.tree_runs or [str(p) for p in runs]}
        )
        kept, report = curate(read_records(rd / "data" / "tactic.jsonl", TacticExample), rules)
        write_records(rd / "curated" / "tactic.jsonl", kept)
        gen = settings.generator.model_copy(
            update={"data": str(rd / "curated"), "output_dir": str(rd / "generator")}
        )
        if model is not None and settings.continue_from_previous:
            gen.model = model
        trained = train_generator(gen)
        model = trained["model"]
        info = {
            "round": r,
            **proved,
            "tactic_records": built["tasks"]["tactic"]["records"],
            "curated": report.after,
            "curation_removed": report.removed,
            "model": model,
            "train_loss": trained["train_loss"],
        }
        tmp = rd / "round.json.tmp"
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        tmp.replace(done)
        history.append(info)
    return {"task": "expert_iteration", "output_dir": str(out), "rounds": history, "model": model}
