"""``prover train train=encoder``: contrastive fine-tuning of the goal encoder of the offline kNN generator.

Why: the kNN generator votes with the tactics of the nearest corpus goals, so "near" should mean "solved by
the same tactic", not "looks alike". Goals whose recorded tactics agree (same whitespace-normalised tactic, or
the same head with ``positives=head``) are positive pairs; the other goals of the batch are negatives (InfoNCE,
symmetric), except those of the same tactic group, which are masked out rather than pushed away. With
``batching=hard`` the batches gather alike goals of different tactics (:func:`hard_batches`). Pooling is
the mean over tokens, L2-normalised, exactly as :class:`prover.retrieval.encoder.TextEncoder` embeds, so the
result (``OUTPUT_DIR/model``) loads with ``generator.encoder=OUTPUT_DIR/model``.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.training.records import TacticExample, normalise, read_records
from prover.training.runs import (
    append_metrics,
    check_model_source,
    metrics_callback,
    prepare_output_dir,
    say,
    train_and_export,
    training_arguments,
)
from prover.training.settings import EncoderTrainSettings

log = logging.getLogger(__name__)


def group_key(tactic: str, positives: str) -> str:
    text = normalise(tactic)
    return text.split(" ", 1)[0] if positives == "head" else text


def shape_covered(tactic: str, goal: str) -> bool:
    """Does the default generator's shape model offer ``tactic`` for ``goal`` on its own (automation, ``intro``
    with the goal's names, hint lists of its hypotheses, answer shapes)? Then the neighbours add little there."""
    from prover.generation.goals import parse_goal
    from prover.generation.mix import candidates

    wanted = normalise(tactic)
    return any(normalise(c.tactic) == wanted for c in candidates(parse_goal(goal)))


def contrastive_pairs(
    records: Sequence[TacticExample], settings: EncoderTrainSettings, seed: int = 0
) -> list[dict[str, Any]]:
    """(anchor goal, positive goal, group id) pairs: goals of one tactic group, preferably across theorems.

    A group whose tactic the shape model offers for most of its goals (:func:`shape_covered`) keeps at most
    ``covered_pairs_per_group`` pairs: the default generator proposes those tactics whatever the neighbours
    say, so pairs of them spend the training on what cannot lift that generator (bench/README.md, Training)."""
    rng = random.Random(seed)
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for r in records:
        key, goal = group_key(r.tactic, settings.positives), r.focused_goal
        if (key, goal) not in seen:
            seen.add((key, goal))
            groups[key].append((r.theorem, goal))
    pairs: list[dict[str, Any]] = []
    for gid, key in enumerate(sorted(groups)):
        members = groups[key]
        if len(members) < 2:
            continue
        limit = settings.max_pairs_per_group
        if settings.covered_pairs_per_group < limit and settings.positives == "tactic":
            covered = sum(shape_covered(key, goal) for _, goal in members)  # the key is the normalised tactic
            if 2 * covered > len(members):
                limit = settings.covered_pairs_per_group
        candidates = [
            (i, j)
            for i in range(len(members))
            for j in range(len(members))
            if i != j and (members[i][0] != members[j][0] or not settings.cross_theorem_only)
        ]
        rng.shuffle(candidates)
        for i, j in candidates[:limit]:
            pairs.append({"a": members[i][1], "b": members[j][1], "group": gid})
    rng.shuffle(pairs)
    return pairs


def hard_batches(
    pairs: Sequence[dict[str, Any]], vectors: Any, batch_size: int, seed: int = 0
) -> list[list[dict[str, Any]]]:
    """Pairs grouped into batches of alike anchors from distinct tactic groups.

    ``vectors``: the unit-norm embedding of each pair's anchor under the starting encoder. A batch starts from a
    random unassigned pair and takes the unassigned pairs whose anchors are most similar to it, one pair per
    tactic group (a second member of a group would only be masked out). Random in-batch negatives are mostly
    unlike goals that the kNN vote never confuses; these are the near misses it does. The last, partial batch
    is dropped, as ``dataloader_drop_last`` does for random batches.
    """
    import numpy as np

    vecs = np.asarray(vectors, dtype=np.float32)
    groups = np.array([p["group"] for p in pairs])
    free = np.ones(len(pairs), dtype=bool)
    order = np.random.default_rng(seed).permutation(len(pairs))
    batches: list[list[dict[str, Any]]] = []
    for start in order:
        if not free[start]:
            continue
        candidates = np.flatnonzero(free)
        ranked = candidates[np.argsort(-(vecs[candidates] @ vecs[start]), kind="stable")]
        chosen: list[int] = []
        taken: set[int] = set()
        for i in ranked:
            if int(groups[i]) not in taken:
                chosen.append(int(i))
                taken.add(int(groups[i]))
                if len(chosen) == batch_size:
                    break
        if len(chosen) < batch_size:
            break  # too few distinct groups left to fill a batch
        free[chosen] = False
        batches.append([pairs[i] for i in chosen])
    return batches


def _embed_anchors(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    """Unit-norm mean-pooled embeddings of ``texts`` under ``model`` as it is now (before training)."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            enc = tokenizer(
                list(texts[start : start + 64]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            out.append(model.embed(enc["input_ids"], enc["attention_mask"]))
    return torch.cat(out).numpy()


def _contrastive_model(encoder: Any, temperature: float) -> Any:
    import torch

    class Contrastive(torch.nn.Module):
        """The encoder plus the in-batch InfoNCE loss; only ``encoder`` is exported."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.temperature = temperature

        def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled.float(), p=2, dim=1)

        def forward(self, a_ids, a_mask, b_ids, b_mask, group):
            a, b = self.embed(a_ids, a_mask), self.embed(b_ids, b_mask)
            sims = a @ b.T / self.temperature
            same = group.unsqueeze(0) == group.unsqueeze(1)
            eye = torch.eye(len(group), dtype=torch.bool, device=sims.device)
            sims = sims.masked_fill(same & ~eye, float("-inf"))
            target = torch.arange(len(group), device=sims.device)
            loss = (
                torch.nn.functional.cross_entropy(sims, target)
                + torch.nn.functional.cross_entropy(sims.T, target)
            ) / 2
            return {"loss": loss}

    return Contrastive()


def _collator(tokenizer: Any, max_length: int):
    import torch

    def collate(batch: list[Any]) -> dict[str, Any]:
        if batch and isinstance(batch[0], list):  # hard batching: each dataset item is a whole batch
            batch = [pair for item in batch for pair in item]
        a = tokenizer(
            [x["a"] for x in batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        b = tokenizer(
            [x["b"] for x in batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        return {
            "a_ids": a["input_ids"],
            "a_mask": a["attention_mask"],
            "b_ids": b["input_ids"],
            "b_mask": b["attention_mask"],
            "group": torch.tensor([x["group"] for x in batch]),
        }

    return collate


def train_encoder(settings: EncoderTrainSettings) -> dict[str, Any]:
    """Train (or resume) and export ``OUTPUT_DIR/model``; returns a summary for the CLI."""
    from transformers import AutoModel, AutoTokenizer, Trainer

    from prover.training.records import TrainingDataError

    if settings.data is None:
        raise TrainingDataError("train.data is not set: a directory from `prover data build-train`")
    out = prepare_output_dir(settings)
    records = read_records(Path(settings.data) / "tactic.jsonl", TacticExample)
    train = contrastive_pairs([r for r in records if r.split == "train"], settings, settings.seed)
    val = contrastive_pairs([r for r in records if r.split == "val"], settings, settings.seed)
    if len(train) < 2:
        raise TrainingDataError(
            f"{settings.data}: fewer than 2 contrastive pairs in the train split (tactics never agree)"
        )
    path = check_model_source(settings.model)
    say(f"loading {settings.model}; {len(train)} train pairs, {len(val)} validation pairs")
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModel.from_pretrained(path)
    if getattr(base.config, "is_encoder_decoder", False):
        base = base.get_encoder()
    model = _contrastive_model(base, settings.temperature)
    has_eval = len(val) >= 2
    if not has_eval:
        say(f"{len(val)} validation pairs: no eval_loss (a contrastive batch needs 2)")
    # a contrastive batch needs >= 2 pairs and the last partial batch is dropped: with fewer validation pairs
    # than batch_size, validation is one batch of them all (else no eval_loss at all, silently)
    eval_batch = max(2, min(settings.batch_size, len(val)))
    # items are pairs, or (batching=hard) whole batches of pairs
    args_settings, train_items, val_items = settings, list[Any](train), list[Any](val)
    if settings.batching == "hard":
        # the dataset's items are whole batches, mined once with the starting encoder (so a resumed run mines
        # the same ones); one item per step. Validation keeps random batches of the same size.
        vectors = _embed_anchors(model, tokenizer, [p["a"] for p in train], settings.max_length)
        train_items = hard_batches(train, vectors, settings.batch_size, settings.seed)
        if not train_items:
            raise TrainingDataError(
                f"{settings.data}: fewer than batch_size={settings.batch_size} tactic groups to fill a hard batch"
            )
        args_settings = settings.model_copy(update={"batch_size": 1})
        bs = settings.batch_size
        val_items = [val[i : i + bs] for i in range(0, len(val) - bs + 1, bs)] or [val]
    trainer = Trainer(
        model=model,
        args=training_arguments(
            args_settings,
            out,
            has_eval=has_eval,
            eval_batch_size=1 if settings.batching == "hard" else eval_batch,
            dataloader_drop_last=True,
            label_names=["group"],
        ),
        train_dataset=train_items,
        eval_dataset=val_items if has_eval else None,
        data_collator=_collator(tokenizer, settings.max_length),
        callbacks=[metrics_callback(out)],
    )
    # the exported tokenizer says the length the encoder was trained at; the kNN generator embeds at it
    tokenizer.model_max_length = settings.max_length
    summary, final = train_and_export(
        trainer,
        out,
        "encoder",
        lambda: model.encoder,
        tokenizer,
        has_eval,
        train_pairs=len(train),
        val_pairs=len(val),
        batching=settings.batching,
    )
    if trainer.is_world_process_zero() and settings.refit_mix:
        summary.update(refit_mix(final, records, settings, out, int(summary["steps"])))
    return summary


def refit_mix(
    model_dir: Path, records: Sequence[TacticExample], settings: EncoderTrainSettings, out: Path, step: int
) -> dict[str, Any]:
    """Fit the default generator's kNN / shape-model mix for the new encoder on the validation steps, with
    the train steps as the kNN corpus, and save it in ``model_dir`` (``knn_mix.json``), where the kNN
    generator running with this encoder reads it. Also measures that generator's validation top-1 / top-8,
    and the votes' alone, into ``metrics.jsonl``.

    Why: the mix is otherwise learnt on the corpus itself, where a fine-tuned encoder's neighbours look better
    than they are on new problems (it was trained to pull those very goals together), which hides its gain.
    """
    from prover.generation.corpus import ProofStep
    from prover.generation.knn import KnnTacticGenerator
    from prover.generation.mix import (
        fit_mix_weights,
        fit_vote_slots,
        heldout_mix_rows,
        heldout_slot_rows,
        save_mix,
    )
    from prover.generation.settings import KnnSettings
    from prover.retrieval.encoder import TextEncoder

    corpus = [
        ProofStep(r.theorem, i, tuple(r.goals), r.goal_id, r.tactic)
        for i, r in enumerate(records)
        if r.split == "train"
    ]
    held = [r for r in records if r.split == "val"][: settings.mix_examples]
    if not corpus or not held:
        say("no validation steps: the generator's mix is not re-fitted for this encoder")
        return {"mix_refit": False}
    say(
        f"re-fitting the generator's mix on {len(held)} validation steps (embedding {len(corpus)} train goals)"
    )
    encoder = TextEncoder(str(model_dir), max_length=settings.max_length)
    defaults = KnnSettings()
    generator = KnnTacticGenerator(corpus, encoder)
    rows = heldout_mix_rows(generator, held)
    weights = fit_mix_weights(rows, defaults.portfolio_weight)
    generator.mix_weights = weights
    # then the reserved vote slots, by validation top-8 (top-1 breaking ties), with the weights just fitted
    slots, _ = fit_vote_slots(heldout_slot_rows(generator, held), k=8)
    generator.vote_slots = slots
    save_mix(
        model_dir,
        weights,
        vote_slots=slots,
        fitted_on=len(rows),
        corpus_steps=len(corpus),
        data=settings.data,
    )
    metrics = {
        "mix_refit": True,
        "mix_weight": round(weights.get("*", defaults.portfolio_weight), 4),
        "mix_vote_slots": slots,
    }
    if settings.mix_examples:
        metrics.update(validation_topk(generator, held, "eval_knn"))
        votes = KnnTacticGenerator(
            corpus, encoder, embeddings=generator._vectors, portfolio_weight=0.0, learn_mix=False
        )
        metrics.update(validation_topk(votes, held, "eval_votes"))
    append_metrics(
        out,
        step,
        {k: v for k, v in metrics.items() if k.startswith("eval_") or k in ("mix_weight", "mix_vote_slots")},
    )
    return metrics


def validation_topk(generator: Any, steps: Sequence[Any], prefix: str, k: int = 8) -> dict[str, float]:
    """Top-1 / top-``k`` exact (whitespace-normalised) tactic of ``generator`` on ``steps`` (``TacticExample``s
    or corpus ``ProofStep``s), as ``{PREFIX_top1, PREFIX_topK}`` (``{top1, topK}`` with an empty prefix)."""
    from prover.generation.mix import requests_of

    requests = requests_of(steps)
    top1 = topk = 0
    for start in range(0, len(requests), 64):
        rows = generator.generate(requests[start : start + 64], k)
        for r, row in zip(steps[start : start + 64], rows, strict=True):
            pred = [normalise(s.tactic) for s in row]
            truth = normalise(r.tactic)
            top1 += bool(pred) and pred[0] == truth
            topk += truth in pred
    n = max(len(steps), 1)
    lead = f"{prefix}_" if prefix else ""
    return {f"{lead}top1": round(top1 / n, 4), f"{lead}top{k}": round(topk / n, 4)}
