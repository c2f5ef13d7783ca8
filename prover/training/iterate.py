"""``prover train train=expert_iteration``: prove -> collect -> curate -> train -> prove again, N rounds.

Every round lives in ``OUTPUT_DIR/round-R/``: ``prove/`` (a normal ``prover prove`` run directory with saved
trees), ``data/`` (built from the proofs of this and every earlier round plus the configured tactic files),
``curated/`` (curated ``tactic.jsonl``; ``critic.jsonl`` and ``proof.jsonl`` copied as built),
``generator/`` and, when the critic is trained, ``critic/`` (normal training runs: ``model/`` is the round's
checkpoint), and ``round.json`` (pass rate, counts, checkpoints), written last.

A killed loop resumes where it stopped: a round with ``round.json`` is done; a prove run resumes from its
``results.jsonl``; a finished training stage is kept (``generator.json`` / ``critic.json``, its summary);
an unfinished one resumes from its last checkpoint. Round 0 proves with the configured generator and critic;
round R > 0 with round R-1's generator checkpoint (``generator=hf``) and, when critics are trained, the
newest critic checkpoint (``search.critic.name=model``).

The critic is trained when ``train_critic`` says so, by default exactly when the configured search asks a
critic (mcts / mps with a critic other than ``none``): its labels are the states of the saved trees of the
rounds so far (on a proof or not, distance to ``no goals``); a round whose trees give no labels in the train
split (nothing solved yet) keeps the previous critic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

from prover.progress import say
from prover.training.build import BuildInputs, build
from prover.training.curate import curate_dir
from prover.training.prove import prove_run, with_hf_generator
from prover.training.records import CriticExample, read_records
from prover.training.settings import ExpertIterationSettings


def search_uses_critic(cfg: DictConfig) -> bool:
    """Whether the prove config's search asks a critic for state values (mcts / mps, critic not ``none``)."""
    from prover.search.settings import ValuedSearchSettings, search_settings

    search = cfg.get("search")
    if search is None:
        return False
    settings = search_settings(OmegaConf.to_container(search, resolve=True))
    if not isinstance(settings, ValuedSearchSettings):
        return False
    critic = settings.critic
    return critic != "none" and not (isinstance(critic, dict) and critic.get("name", "none") == "none")


def round_config(
    cfg: DictConfig,
    settings: ExpertIterationSettings,
    model: str | None,
    critic_model: str | None = None,
) -> DictConfig:
    """The prove config of a round: the configured one, with the previous round's checkpoints."""
    g = settings.generator
    if model is not None:
        out = with_hf_generator(cfg, model, g.kind, g.prompt_template)
    else:
        out = cast(DictConfig, OmegaConf.create(OmegaConf.to_container(cfg, resolve=False)))
    if critic_model is not None and search_uses_critic(out):
        critic = {"name": "model", "model": critic_model, "template": settings.critic.template}
        OmegaConf.set_struct(out, False)
        out.search.critic = OmegaConf.create(critic)
    return out


def _stage(marker: Path, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a training stage once: its summary is kept in ``marker`` (written atomically) and reused."""
    if marker.is_file():
        return json.loads(marker.read_text(encoding="utf-8"))
    summary = run()
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(marker)
    return summary


def _train_round_critic(settings: ExpertIterationSettings, rd: Path, previous: str | None) -> dict[str, Any]:
    from prover.training.critic import train_critic

    labels = read_records(rd / "curated" / "critic.jsonl", CriticExample)
    if not any(r.split == "train" for r in labels):
        return {"skipped": "no critic labels in the train split (no solved problem with a saved tree yet)"}
    crit = settings.critic.model_copy(update={"data": str(rd / "curated"), "output_dir": str(rd / "critic")})
    if previous is not None and settings.continue_from_previous:
        crit.model = previous
    return train_critic(crit)


def iterate(cfg: DictConfig, settings: ExpertIterationSettings) -> dict[str, Any]:
    from prover.training.generator import train_generator

    out = Path(settings.output_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    with_critic = settings.train_critic if settings.train_critic is not None else search_uses_critic(cfg)
    history: list[dict[str, Any]] = []
    model: str | None = None
    critic_model: str | None = None
    for r in range(settings.rounds):
        rd = out / f"round-{r}"
        done = rd / "round.json"
        if done.is_file():
            say("iterate", f"round {r + 1}/{settings.rounds}: done earlier, kept ({done})")
            finished = json.loads(done.read_text(encoding="utf-8"))
            history.append(finished)
            model = finished["model"]
            critic_model = finished.get("critic_model") or critic_model
            continue
        rd.mkdir(parents=True, exist_ok=True)
        prove_cfg = round_config(cfg, settings, model, critic_model)
        say("iterate", f"round {r + 1}/{settings.rounds}: proving with {model or 'the configured generator'}")
        proved = prove_run(prove_cfg, rd / "prove")
        say(
            "iterate",
            f"round {r + 1}/{settings.rounds}: building, curating and training on the proofs so far",
        )
        runs = [out / f"round-{i}" / "prove" for i in range(r + 1)]
        inputs = BuildInputs(tactic_files=[Path(p) for p in settings.tactics], run_dirs=runs)
        built = build(inputs, rd / "data", val=settings.val, test=0.0, seed=settings.seed)
        # the saved trees of the rounds so far tell which frequent tactics are ineffective
        rules = settings.curate.model_copy(
            update={"tree_runs": settings.curate.tree_runs or [str(p) for p in runs]}
        )
        report = curate_dir(rd / "data", rd / "curated", rules)
        gen = settings.generator.model_copy(
            update={"data": str(rd / "curated"), "output_dir": str(rd / "generator")}
        )
        if model is not None and settings.continue_from_previous:
            gen.model = model
        trained = _stage(rd / "generator.json", partial(train_generator, gen, prove_cfg))
        model = trained["model"]
        info: dict[str, Any] = {
            "round": r,
            **proved,
            "tactic_records": built["tasks"]["tactic"]["records"],
            "critic_records": built["tasks"]["critic"]["records"],
            "proof_records": built["tasks"]["proof"]["records"],
            "curated": report.after,
            "curation_removed": report.removed,
            "model": model,
            "train_loss": trained["train_loss"],
        }
        if with_critic:
            say("iterate", f"round {r + 1}/{settings.rounds}: training the critic")
            critic = _stage(rd / "critic.json", partial(_train_round_critic, settings, rd, critic_model))
            critic_model = critic.get("model", critic_model)
            info["critic"] = critic
            info["critic_model"] = critic_model
        tmp = rd / "round.json.tmp"
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        tmp.replace(done)
        history.append(info)
        say("iterate", f"round {r + 1}/{settings.rounds}: finished ({done})")
    return {
        "task": "expert_iteration",
        "output_dir": str(out),
        "rounds": history,
        "model": model,
        "critic_model": critic_model,
    }
