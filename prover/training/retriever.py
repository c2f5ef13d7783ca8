"""``prover train train=retriever``: a dense premise retriever on any Hugging Face encoder (ReProver's scheme).

Each training example is a state, one premise its tactic used (the positive) and ``num_negatives`` hard
negatives, ``num_in_file_negatives`` of them from the positive's own file and the rest from elsewhere, all
accessible from the theorem's file (when the corpus knows it); the other examples' premises in the batch are
in-batch negatives. Loss: ``mse`` (ReProver: squared error between cosine similarity and the 0/1 label) or
``infonce`` (cross-entropy over the candidates). Validation: Recall@1 / Recall@10 of the used premises on the
val split, against the whole corpus. Pooling and normalisation are those of
:class:`prover.retrieval.encoder.TextEncoder`, so ``OUTPUT_DIR/model`` is what ``prover index build
retriever.encoder=OUTPUT_DIR/model`` and ``prover retrieve`` read.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from prover.training.records import PremiseExample, TrainingDataError, read_records
from prover.training.runs import (
    append_metrics,
    metrics_callback,
    prepare_output_dir,
    train_and_export,
    training_arguments,
)
from prover.training.settings import RetrieverTrainSettings


class _Triples:
    """(state, positive, negatives) examples; negatives re-drawn on every read (a fresh draw per epoch)."""

    def __init__(
        self, records: list[PremiseExample], corpus: Any, settings: RetrieverTrainSettings, seed: int
    ):
        from prover.retrieval.accessible import Accessibility

        self.settings = settings
        self.rng = random.Random(seed)
        self.premises = corpus.premises
        self.index = corpus.by_name()
        self.by_file: dict[str, list[int]] = {}
        for i, p in enumerate(self.premises):
            self.by_file.setdefault(p.path, []).append(i)
        access = Accessibility(corpus)
        self.rows: list[tuple[str, int, set[str] | None]] = []
        for r in records:
            allowed = access.accessible(r.file) if r.file and r.file in corpus.files else None
            for name in r.premises:
                if name in self.index:
                    self.rows.append(("\n\n".join(r.goals), self.index[name], allowed))

    def __len__(self) -> int:
        return len(self.rows)

    def _draw(self, pool: list[int], k: int, exclude: int, allowed: set[str] | None) -> list[int]:
        ok = [i for i in pool if i != exclude and (allowed is None or self.premises[i].full_name in allowed)]
        return self.rng.sample(ok, min(k, len(ok)))

    def __getitem__(self, i: int) -> dict[str, Any]:
        state, pos, allowed = self.rows[i]
        s = self.settings
        in_file = self._draw(
            self.by_file.get(self.premises[pos].path, []), s.num_in_file_negatives, pos, allowed
        )
        others = self._draw(range(len(self.premises)), s.num_negatives - len(in_file) + 8, pos, allowed)  # type: ignore[arg-type]
        negatives = (in_file + [j for j in others if j not in in_file])[: s.num_negatives]
        while len(negatives) < s.num_negatives:  # a tiny corpus: repeat (the label mask keeps it honest)
            negatives.append(negatives[-1] if negatives else pos)
        return {"state": state, "pos": pos, "negs": negatives}


def _model(encoder: Any, loss: str, temperature: float) -> Any:
    import torch

    class DualEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled.float(), p=2, dim=1)

        def forward(self, q_ids, q_mask, c_ids, c_mask, c_premise, q_premise):
            q, c = self.embed(q_ids, q_mask), self.embed(c_ids, c_mask)
            sims = q @ c.T  # every state against every candidate of the batch (positives + hard negatives)
            labels = (q_premise.unsqueeze(1) == c_premise.unsqueeze(0)).float()
            if loss == "mse":
                value = ((sims - labels) ** 2).mean()
            else:
                own = torch.arange(len(q_premise), device=sims.device)  # candidate i is example i's positive
                logits = (sims / temperature).masked_fill(labels.bool(), float("-inf"))
                logits[own, own] = sims[own, own] / temperature
                value = torch.nn.functional.cross_entropy(logits, own)
            return {"loss": value}

    return DualEncoder()


def _collator(tokenizer: Any, premises: list[Any], max_length: int):
    import torch

    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        cands = [b["pos"] for b in batch] + [j for b in batch for j in b["negs"]]
        q = tokenizer(
            [b["state"] for b in batch],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        c = tokenizer(
            [premises[j].text for j in cands],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        return {
            "q_ids": q["input_ids"],
            "q_mask": q["attention_mask"],
            "c_ids": c["input_ids"],
            "c_mask": c["attention_mask"],
            "c_premise": torch.tensor(cands),
            "q_premise": torch.tensor([b["pos"] for b in batch]),
        }

    return collate


def recall_at(
    model_dir: Path, records: list[PremiseExample], corpus: Any, ks: tuple[int, ...] = (1, 10)
) -> dict:
    """Recall@k of the used premises over the whole corpus (ReProver's metric), averaged over examples."""
    import numpy as np

    from prover.retrieval.encoder import TextEncoder

    enc = TextEncoder(str(model_dir))
    names = corpus.names()
    vectors = enc.encode([p.text for p in corpus.premises])
    rows = [(r, [n for n in r.premises if n in set(names)]) for r in records]
    rows = [(r, used) for r, used in rows if used]
    if not rows:
        return {}
    queries = enc.encode(["\n\n".join(r.goals) for r, _ in rows])
    ranked = np.argsort(-(queries @ vectors.T), axis=1)
    out = {}
    for k in ks:
        hits = [
            len(set(used) & {names[j] for j in ranked[i, :k]}) / len(used) for i, (_, used) in enumerate(rows)
        ]
        out[f"recall@{k}"] = float(np.mean(hits))
    out["val_examples"] = len(rows)
    return out


def train_retriever(settings: RetrieverTrainSettings) -> dict[str, Any]:
    from transformers import AutoModel, AutoTokenizer, Trainer

    from prover.retrieval.corpus import read_corpus_source
    from prover.retrieval.encoder import resolve_model_path

    if settings.data is None:
        raise TrainingDataError("train.data is not set: a directory from `prover data build-train`")
    if not settings.corpus:
        raise TrainingDataError("train.corpus is not set: the premise corpus the premises' text comes from")
    out = prepare_output_dir(settings)
    corpus = read_corpus_source(settings.corpus)
    records = read_records(Path(settings.data) / "premise.jsonl", PremiseExample)
    train = _Triples([r for r in records if r.split == "train"], corpus, settings, settings.seed)
    val = [r for r in records if r.split == "val"][: settings.eval_examples]
    if len(train) < 2:
        raise TrainingDataError(f"{settings.data}: fewer than 2 train premises found in {settings.corpus}")
    path = resolve_model_path(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModel.from_pretrained(path)
    if getattr(base.config, "is_encoder_decoder", False):
        base = base.get_encoder()
    model = _model(base, settings.loss, settings.temperature)
    trainer = Trainer(
        model=model,
        args=training_arguments(settings, out, has_eval=False),
        train_dataset=train,
        data_collator=_collator(tokenizer, corpus.premises, settings.max_length),
        callbacks=[metrics_callback(out)],
    )
    summary, final = train_and_export(
        trainer, out, "retriever", lambda: model.encoder, tokenizer, False, train_examples=len(train)
    )
    if val:
        recall = recall_at(final, val, corpus)
        summary.update(recall)
        # into the curve file too, so `prover train report` plots it (it was only printed)
        append_metrics(
            out, int(summary["steps"]), {f"eval_{k}": v for k, v in recall.items() if k.startswith("recall")}
        )
    return summary
