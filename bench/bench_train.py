"""Training benchmark: the kNN generator with a fine-tuned (``train=encoder``) vs the stock MiniLM encoder.

Builds training data from a tactic JSONL split BY PROBLEM (``prover.training.build``: the problem part of
``RUN/PROBLEM`` sources, so two provers' proofs of one problem never straddle the split), fine-tunes the
encoder on the train part, then puts each encoder inside the kNN generator (corpus = train steps) and reports
top-1 / top-8 exact tactic (whitespace-normalised) on the held-out problems' steps. Also: training
throughput (pairs/s) and the curation counts per rule.

    .venv/bin/python bench/bench_train.py ../shared/data/tactics/fps-search-proof-steps.jsonl --steps 80
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from prover.generation.base import GenerationRequest
from prover.generation.corpus import ProofStep
from prover.training.records import TacticExample, normalise, read_records


def _step(r: TacticExample) -> ProofStep:
    return ProofStep(r.theorem, 0, tuple(r.goals), r.goal_id, r.tactic)


def topk(train: list[ProofStep], test: list[ProofStep], encoder_name: str, k: int) -> dict[str, float]:
    from prover.generation.knn import KnnTacticGenerator
    from prover.retrieval.encoder import TextEncoder

    enc = TextEncoder(encoder_name)
    t0 = time.perf_counter()
    knn = KnnTacticGenerator(train, enc)
    requests = []
    for s in test:
        goals = list(s.goals)
        focused = goals.pop(s.goal_id)
        requests.append(GenerationRequest(goals=[focused, *goals]))
    top1 = topk_hits = 0
    for start in range(0, len(requests), 64):
        rows = knn.generate(requests[start : start + 64], k)
        for s, row in zip(test[start : start + 64], rows, strict=True):
            pred = [normalise(x.tactic) for x in row]
            truth = normalise(s.tactic)
            top1 += bool(pred) and pred[0] == truth
            topk_hits += truth in pred
    n = len(test)
    return {
        "top1": round(top1 / n, 4),
        f"top{k}": round(topk_hits / n, 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    from prover.training.build import BuildInputs, build
    from prover.training.curate import curate
    from prover.training.encoder import train_encoder
    from prover.training.settings import CurateSettings, EncoderTrainSettings

    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--test", type=float, default=0.2)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--work", default=None, help="keep data / checkpoints here (default: a temporary dir)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-train-"))
    data = work / "data"
    summary = build(BuildInputs(tactic_files=[Path(args.corpus)]), data, val=0.0, test=args.test)
    records = read_records(data / "tactic.jsonl", TacticExample)
    _, report = curate(records, CurateSettings())
    train = [_step(r) for r in records if r.split == "train"]
    test = [_step(r) for r in records if r.split == "test"]
    settings = EncoderTrainSettings(
        data=str(data),
        output_dir=str(work / "encoder"),
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        save_steps=max(args.steps // 2, 1),
        logging_steps=10,
    )
    t0 = time.perf_counter()
    trained = train_encoder(settings)
    seconds = time.perf_counter() - t0
    out = {
        "corpus": args.corpus,
        "split": summary["tasks"]["tactic"]["splits"],
        "test_problems": len({s.source for s in test}),
        "curation_removed": report.removed,
        "curation_before_after": [report.before, report.after],
        "train": {
            "steps": trained["steps"],
            "pairs_per_s": round(trained["steps"] * args.batch_size / seconds, 2),
            "seconds": round(seconds, 1),
            "train_loss": trained["train_loss"],
        },
        "knn stock minilm": topk(train, test, "minilm", args.k),
        "knn fine-tuned minilm": topk(train, test, trained["model"], args.k),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
