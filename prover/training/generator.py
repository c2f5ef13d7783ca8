"""``prover train train=generator``: supervised fine-tuning of a seq2seq or causal model on (state -> tactic)
and / or (statement -> whole proof) examples (``examples=tactic|proof|both``).

The input is built by the project's own prompt template (``prover.generation.prompts``) from the request that
search would send (the goal the tactic ran on first, the theorem's name), with the record's premises as the
retrieval prefix (``premises_prefix``, the same text ``RetrievalAugmenter`` puts before the state), each one
dropped with probability ``premise_dropout`` per example and epoch (ReProver: 0.5), so the model learns to
use premises without relying on them. Causal models see prompt + tactic + EOS with the loss on the tactic
tokens only (prompt positions are labelled -100). ``lora=true`` wraps the model with ``peft`` when installed;
the exported ``model/`` is merged back into a plain Hugging Face directory, so ``generator=hf
generator.model=OUTPUT_DIR/model generator.kind=KIND generator.prompt_template=T`` uses it at once.

Whole-proof examples (``proof.jsonl``) are shown to the model through the very request whole-proof search
builds (:func:`prover.search.whole_proof.whole_proof_request`: the statement ``… := by`` as the goal, the
theorem's name and header) and the same template; the target is the tactic script after ``:= by``, which the
searcher's extractor returns unchanged, so ``search=whole_proof`` with the checkpoint samples what it learnt.
Validation: exact match (whitespace-normalised) of tactics and / or whole proofs on the val split, and
optionally (``pass_rate.enabled``) a small ``prover prove`` run with the checkpoint.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from typing import Any

from prover.training.records import ProofExample, TacticExample, TrainingDataError, normalise, read_records
from prover.training.runs import (
    METRICS,
    append_metrics,
    check_model_source,
    metrics_callback,
    prepare_output_dir,
    train_and_export,
    training_arguments,
)
from prover.training.settings import GeneratorTrainSettings

Example = TacticExample | ProofExample


def prompt_for(example: TacticExample, template: Any, premises: list[str], max_bytes: int) -> str:
    """The model input for one example, exactly as search would format its request."""
    from prover.generation.augment import premises_prefix
    from prover.generation.base import GenerationRequest

    goals = list(example.goals)
    focused = goals.pop(example.goal_id)
    request = GenerationRequest(goals=(focused, *goals), theorem_name=example.theorem)
    prefix = premises_prefix(premises, request.text, max_bytes) if premises else ""
    return template.format(request, prefix)


def proof_prompt(example: ProofExample, template: Any) -> str:
    """The model input for a whole proof, exactly as whole-proof search formats its request."""
    from prover.search.whole_proof import whole_proof_request

    return template.format(whole_proof_request(example.lean_theorem()), "")


class _Examples:
    """A map-style dataset re-drawing the premise dropout each time an example is read.

    Whole-proof records must have a tactic script (:meth:`ProofExample.script`); :func:`load_examples`
    keeps only those. Their (prompt, script) pairs never change, so they are rendered once.
    """

    def __init__(self, records: list[Example], settings: GeneratorTrainSettings, seed: int) -> None:
        from prover.generation.prompts import get_template

        self.records = records
        self.settings = settings
        self.template = get_template(settings.prompt_template)
        self.rng = random.Random(seed)
        self.proofs = {
            i: {"prompt": proof_prompt(r, self.template), "tactic": r.script() or ""}
            for i, r in enumerate(records)
            if isinstance(r, ProofExample)
        }

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, str]:
        r = self.records[i]
        if isinstance(r, ProofExample):
            return dict(self.proofs[i])
        kept = [p for p in r.premises if self.rng.random() >= self.settings.premise_dropout]
        return {
            "prompt": prompt_for(r, self.template, kept, self.settings.premise_max_bytes),
            "tactic": r.tactic,
        }


def _collator(tokenizer: Any, settings: GeneratorTrainSettings):
    import torch

    if settings.kind == "seq2seq":

        def seq2seq(batch: list[dict[str, str]]) -> dict[str, Any]:
            enc = tokenizer(
                [b["prompt"] for b in batch],
                padding=True,
                truncation=True,
                max_length=settings.max_length,
                return_tensors="pt",
            )
            labels = tokenizer(
                [b["tactic"] for b in batch],
                padding=True,
                truncation=True,
                max_length=settings.max_target_length,
                return_tensors="pt",
            )["input_ids"]
            labels[labels == tokenizer.pad_token_id] = -100
            return {**enc, "labels": labels}

        return seq2seq

    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos

    def causal(batch: list[dict[str, str]]) -> dict[str, Any]:
        rows, labels = [], []
        for b in batch:
            p_ids = tokenizer(b["prompt"], truncation=True, max_length=settings.max_length)["input_ids"]
            if p_ids and p_ids[-1] == eos:  # ByT5-style tokenizers end every text with EOS
                p_ids = p_ids[:-1]
            t_ids = tokenizer(b["tactic"], add_special_tokens=False)["input_ids"][
                : settings.max_target_length
            ]
            ids = p_ids + t_ids + [eos]
            rows.append(ids)
            labels.append([-100] * len(p_ids) + t_ids + [eos])
        width = max(len(r) for r in rows)
        return {
            "input_ids": torch.tensor([r + [pad] * (width - len(r)) for r in rows]),
            "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
            "labels": torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels]),
        }

    return causal


def _load(settings: GeneratorTrainSettings) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    path = check_model_source(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    cls = AutoModelForSeq2SeqLM if settings.kind == "seq2seq" else AutoModelForCausalLM
    model = cls.from_pretrained(path)
    if settings.lora:
        if importlib.util.find_spec("peft") is None:
            raise TrainingDataError("train.lora=true needs the `peft` package (pip install peft)")
        from peft import LoraConfig, get_peft_model

        task = "SEQ_2_SEQ_LM" if settings.kind == "seq2seq" else "CAUSAL_LM"
        model = get_peft_model(
            model, LoraConfig(task_type=task, r=settings.lora_r, lora_alpha=2 * settings.lora_r)
        )
    return tokenizer, model


def _validation_generator(model_dir: Path, settings: GeneratorTrainSettings) -> Any:
    from prover.generation.hf import HFTacticGenerator
    from prover.generation.settings import HFGenerationSettings

    return HFTacticGenerator(
        str(model_dir),
        HFGenerationSettings(
            model=str(model_dir),
            kind=settings.kind,
            prompt_template=settings.prompt_template,
            max_new_tokens=settings.max_target_length,
        ),
    )


def top_k_exact(
    model_dir: Path, records: list[TacticExample], settings: GeneratorTrainSettings, generator: Any = None
) -> dict[str, float]:
    """Top-1 / top-k exact tactic match on ``records``, through the project's own HF generator (as search)."""
    from prover.generation.base import GenerationRequest

    k = settings.eval_top_k
    generator = generator or _validation_generator(model_dir, settings)
    hits1 = hitsk = 0
    for r in records:
        goals = list(r.goals)
        focused = goals.pop(r.goal_id)
        row = generator.generate([GenerationRequest(goals=(focused, *goals), theorem_name=r.theorem)], k)[0]
        pred = [normalise(s.tactic) for s in row]
        hits1 += bool(pred) and pred[0] == normalise(r.tactic)
        hitsk += normalise(r.tactic) in pred
    n = max(len(records), 1)
    return {"val_top1": hits1 / n, f"val_top{k}": hitsk / n, "val_examples": len(records)}


def proof_exact(
    model_dir: Path, records: list[ProofExample], settings: GeneratorTrainSettings, generator: Any = None
) -> dict[str, float]:
    """Top-1 / top-k exact whole-proof match (whitespace-normalised) on ``records``: the generator is asked
    with whole-proof search's request and its samples are read by that searcher's extractor."""
    from prover.search.whole_proof import extract_whole_proof, whole_proof_request

    k = settings.eval_top_k
    generator = generator or _validation_generator(model_dir, settings)
    hits1 = hitsk = 0
    for r in records:
        theorem = r.lean_theorem()
        row = generator.generate([whole_proof_request(theorem)], k)[0]
        pred = [normalise(extract_whole_proof(s.tactic, theorem.statement)) for s in row]
        want = normalise(r.script() or "")
        hits1 += bool(pred) and pred[0] == want
        hitsk += want in pred
    n = max(len(records), 1)
    return {"val_proof_top1": hits1 / n, f"val_proof_top{k}": hitsk / n, "val_proof_examples": len(records)}


def check_examples(settings: GeneratorTrainSettings) -> None:
    """What the example settings get wrong without reading a record (said before any model loads): a
    first-line-only template for whole proofs, a data file the chosen ``examples`` need that is missing."""
    from prover.generation.prompts import get_template

    if settings.data is None:
        raise TrainingDataError("train.data is not set: a directory from `prover data build-train`")
    data = Path(str(settings.data))
    if settings.examples in ("proof", "both") and get_template(settings.prompt_template).first_line_only:
        raise TrainingDataError(
            f"train.prompt_template={settings.prompt_template} keeps only the first line of the model's "
            "output, so it cannot write whole proofs; use e.g. reprover or internlm_stepprover"
        )
    if settings.examples in ("tactic", "proof") and not (data / f"{settings.examples}.jsonl").is_file():
        raise TrainingDataError(f"training data file {data / f'{settings.examples}.jsonl'} does not exist")
    if settings.examples == "both" and not any((data / f"{t}.jsonl").is_file() for t in ("tactic", "proof")):
        raise TrainingDataError(f"{data}: neither tactic.jsonl nor proof.jsonl (train.examples=both)")


def load_examples(settings: GeneratorTrainSettings) -> tuple[list[Example], list[Example], dict[str, int]]:
    """Train / val examples of the configured kinds, and counts for the run summary.

    Whole proofs come from ``proof.jsonl``; a term-mode proof (no ``:= by``) has no tactic script for
    whole-proof search to read and is skipped (counted as ``proof_records_skipped``).
    """
    check_examples(settings)
    data = Path(str(settings.data))
    examples: list[Example] = []
    facts: dict[str, int] = {}
    if settings.examples in ("tactic", "both"):
        path = data / "tactic.jsonl"
        if settings.examples == "tactic" or path.is_file():
            tactics = read_records(path, TacticExample)
            examples += tactics
            facts["tactic_records"] = len(tactics)
    if settings.examples in ("proof", "both"):
        path = data / "proof.jsonl"
        if settings.examples == "proof" or path.is_file():
            proofs = read_records(path, ProofExample)
            usable = [r for r in proofs if r.script() is not None]
            examples += usable
            facts["proof_records"] = len(usable)
            facts["proof_records_skipped"] = len(proofs) - len(usable)
    if settings.examples == "both" and not facts:
        raise TrainingDataError(f"{data}: neither tactic.jsonl nor proof.jsonl (train.examples=both)")
    train = [r for r in examples if r.split == "train"]
    val = [r for r in examples if r.split == "val"]
    if not train:
        files = {"tactic": "tactic.jsonl", "proof": "proof.jsonl"}.get(
            settings.examples, "tactic/proof.jsonl"
        )
        raise TrainingDataError(f"{data}/{files}: no records in the train split")
    return train, val, facts


def pass_rate(
    model_dir: Path, settings: GeneratorTrainSettings, prove_cfg: Any, out: Path, step: int
) -> dict[str, Any]:
    """A small ``prover prove`` run with the checkpoint (``pass_rate.limit`` problems of the prove config's
    benchmark), through the evaluation API; appended to ``metrics.jsonl`` as ``eval_pass_rate``."""
    import json
    import time

    from omegaconf import OmegaConf

    from prover.config import compose
    from prover.training.prove import prove_run, with_hf_generator

    base = prove_cfg if prove_cfg is not None else compose()
    cfg = with_hf_generator(
        base,
        str(model_dir),
        settings.kind,
        settings.prompt_template,
        max_new_tokens=settings.max_target_length,
    )
    OmegaConf.set_struct(cfg, False)
    cfg.benchmark.limit = settings.pass_rate.limit
    run_dir = out / f"pass_rate-step-{step}"
    result = prove_run(cfg, run_dir, save_trees=False)
    line = {
        "step": step,
        "time": time.time(),
        "eval_pass_rate": result["pass_rate"],
        "eval_pass_solved": result["solved"],
        "eval_pass_problems": result["finished"],
    }
    with (out / METRICS).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    return {**result, "run_dir": str(run_dir)}


def _pass_rate_every_eval(settings: GeneratorTrainSettings, prove_cfg: Any, out: Path, tokenizer: Any):
    """A ``TrainerCallback`` running the pass-rate check on a snapshot of the model at every evaluation.

    The last step is left to the check after training (on the exported ``model/``), so no step is run twice.
    """
    from transformers import TrainerCallback

    class PassRateEveryEval(TrainerCallback):
        def on_evaluate(self, args, state, control, model=None, **kwargs):
            if not state.is_world_process_zero or model is None or state.global_step >= state.max_steps:
                return
            snapshot = out / "snapshots" / f"step-{state.global_step}"
            if not (snapshot / "config.json").is_file():
                model.save_pretrained(snapshot)
                tokenizer.save_pretrained(snapshot)
            pass_rate(snapshot, settings, prove_cfg, out, state.global_step)

    return PassRateEveryEval()


def train_generator(settings: GeneratorTrainSettings, prove_cfg: Any = None) -> dict[str, Any]:
    """Fine-tune, export ``model/``, validate; ``prove_cfg`` is the prove config of the pass-rate check
    (default: the project's composed defaults)."""
    from transformers import Trainer

    if settings.data is None:
        raise TrainingDataError("train.data is not set: a directory from `prover data build-train`")
    from prover.generation.prompts import get_template

    get_template(settings.prompt_template)  # an unknown template is a clear error before any loading
    if settings.pass_rate.enabled and settings.pass_rate.every_eval and settings.lora:
        raise TrainingDataError(
            "train.pass_rate.every_eval needs a full model at each evaluation; with train.lora=true the "
            "adapters are merged only at the end (use the check after training)"
        )
    out = prepare_output_dir(settings)
    train, val, facts = load_examples(settings)
    tokenizer, model = _load(settings)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = Trainer(
        model=model,
        args=training_arguments(settings, out, has_eval=bool(val)),
        train_dataset=_Examples(train, settings, settings.seed),
        eval_dataset=_Examples(val, settings.model_copy(update={"premise_dropout": 0.0}), 0) if val else None,
        data_collator=_collator(tokenizer, settings),
        callbacks=[metrics_callback(out)],
    )
    if settings.pass_rate.enabled and settings.pass_rate.every_eval and val:
        trainer.add_callback(_pass_rate_every_eval(settings, prove_cfg, out, tokenizer))
    summary, final = train_and_export(
        trainer,
        out,
        "generator",
        lambda: model.merge_and_unload() if settings.lora else model,
        tokenizer,
        bool(val),
        kind=settings.kind,
        prompt_template=settings.prompt_template,
        examples=settings.examples,
        **facts,
        train_records=len(train),
        val_records=len(val),
    )
    if not trainer.is_world_process_zero():
        return summary
    val_tactics = [r for r in val if isinstance(r, TacticExample)][: settings.eval_examples]
    val_proofs = [r for r in val if isinstance(r, ProofExample)][: settings.eval_examples]
    if val_tactics or val_proofs:
        generator = _validation_generator(final, settings)
        found: dict[str, Any] = {}
        if val_tactics:
            found.update(top_k_exact(final, val_tactics, settings, generator))
        if val_proofs:
            found.update(proof_exact(final, val_proofs, settings, generator))
        summary.update(found)
        # into the curve file too, so `prover train report` plots it (it was only printed)
        append_metrics(
            out,
            int(summary["steps"]),
            {"eval_" + k[4:]: v for k, v in found.items() if k.startswith("val_") and "examples" not in k},
        )
    if settings.pass_rate.enabled:
        summary["pass_rate"] = pass_rate(final, settings, prove_cfg, out, int(summary["steps"]))
    return summary
