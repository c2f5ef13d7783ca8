"""Generation benchmark: offline tactic accuracy (kNN + automation vs baselines) and HF throughput.

(1) ``accuracy``: split a (state, tactic) corpus BY PROBLEM (``source``) with a fixed seed, fit on the train part,
    and report top-1 / top-8 exact-tactic accuracy (whitespace-normalised) on the held-out steps for: the kNN +
    automation generator, the automation portfolio alone, and BM25 nearest states proposing their tactics.
(2) ``throughput``: states/s of tiny random-initialised seq2seq and causal models on CPU, batched vs one state
    at a time (same prompts, same decoding).

    .venv/bin/python -m bench.bench_generation accuracy ../shared/data/tactics/fps-search-proof-steps.jsonl
    .venv/bin/python -m bench.bench_generation throughput
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from prover.generation.base import GenerationRequest, requests_from_texts


def _norm(t: str) -> str:
    return " ".join(t.split())


def split_by_problem(steps: Sequence, test_fraction: float, seed: int) -> tuple[list, list]:
    sources = sorted({s.source for s in steps})
    random.Random(seed).shuffle(sources)
    test_sources = set(sources[: int(round(len(sources) * test_fraction))])
    return [s for s in steps if s.source not in test_sources], [s for s in steps if s.source in test_sources]


def topk_accuracy(
    predict: Callable[[list[GenerationRequest], int], list[list[str]]],
    test: Sequence,
    ks: Sequence[int],
    batch: int = 64,
) -> dict[str, float]:
    hits = dict.fromkeys(ks, 0)
    kmax = max(ks)
    for start in range(0, len(test), batch):
        chunk = test[start : start + batch]
        preds = predict([GenerationRequest(goals=s.goals) for s in chunk], kmax)
        for step, pred in zip(chunk, preds, strict=True):
            normed = [_norm(p) for p in pred]
            for k in ks:
                hits[k] += _norm(step.tactic) in normed[:k]
    return {f"top{k}": hits[k] / len(test) for k in ks}


def run_accuracy(args: argparse.Namespace) -> dict[str, object]:
    from rank_bm25 import BM25Okapi

    from prover.generation.corpus import file_checksum, load_corpus
    from prover.generation.knn import KnnTacticGenerator, _cache_path
    from prover.generation.portfolio import AutomationPortfolio, learn_priors
    from prover.retrieval.encoder import load_encoder

    path = Path(args.corpus)
    steps = load_corpus(path)
    train, test = split_by_problem(steps, args.test_fraction, args.seed)
    enc = load_encoder("minilm")
    cache = _cache_path(path.resolve(), "minilm", file_checksum(path), args.cache_dir)
    if cache.is_file():
        emb = np.load(cache)
    else:
        print(f"embedding {len(steps)} goals (cached at {cache})", file=sys.stderr)
        emb = enc.encode([s.focused_goal for s in steps])
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, emb)
    index_of = {id(s): i for i, s in enumerate(steps)}
    train_emb = emb[[index_of[id(s)] for s in train]]
    ks = (1, 8)
    results: dict[str, object] = {
        "corpus": str(path),
        "steps": len(steps),
        "train_steps": len(train),
        "test_steps": len(test),
        "test_problems": len({s.source for s in test}),
        "seed": args.seed,
    }

    def gen_predict(gen: object) -> Callable[[list[GenerationRequest], int], list[list[str]]]:
        return lambda requests, k: [[s.tactic for s in row] for row in gen.generate(requests, k)]  # type: ignore[attr-defined]

    t0 = time.perf_counter()
    for w in args.portfolio_weights:
        gen = KnnTacticGenerator(train, enc, embeddings=train_emb, portfolio_weight=w)
        results[f"knn+automation(w={w})"] = topk_accuracy(gen_predict(gen), test, ks)
    gen = KnnTacticGenerator(train, enc, embeddings=train_emb, portfolio_weight=0.5, adapt_names=False)
    results["knn+automation(w=0.5, no renaming)"] = topk_accuracy(gen_predict(gen), test, ks)
    results["automation portfolio alone (learned priors)"] = topk_accuracy(
        gen_predict(AutomationPortfolio(priors=learn_priors(s.tactic for s in train))), test, ks
    )
    results["automation portfolio alone (default priors)"] = topk_accuracy(
        gen_predict(AutomationPortfolio()), test, ks
    )

    tokenized = [s.focused_goal.split() for s in train]
    bm25 = BM25Okapi(tokenized)

    def bm25_predict(requests: list[GenerationRequest], k: int) -> list[list[str]]:
        out = []
        for request in requests:
            scores = bm25.get_scores(request.first_goal.split())
            ranked: list[str] = []
            for i in np.argsort(-scores):
                t = _norm(train[int(i)].tactic)
                if t not in ranked:
                    ranked.append(t)
                if len(ranked) == k:
                    break
            out.append(ranked)
        return out

    results["bm25 nearest states"] = topk_accuracy(bm25_predict, test, ks)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    return results


def run_throughput(args: argparse.Namespace) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import torch
    from test_generation_tiny_models import make_causal, make_seq2seq

    from prover.generation.hf import HFGenerationSettings, HFTacticGenerator

    torch.set_num_threads(args.threads)
    states = requests_from_texts(
        [
            f"x y : ℝ\nh₀ : 0 < x + {i}\nh₁ : x * y = {i}\n⊢ x ^ 2 + y ^ 2 ≥ 2 * x * y + {i % 3}"
            for i in range(args.states)
        ]
    )
    results: dict[str, object] = {
        "states": args.states,
        "k": args.k,
        "max_new_tokens": args.max_new_tokens,
        "decoding": "sample (runs to max_new_tokens with random weights)",
        "torch_threads": args.threads,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for kind, maker, template in (
            ("seq2seq", make_seq2seq, "reprover"),
            ("causal", make_causal, "bfs_prover"),
        ):
            path = maker(Path(tmp) / kind, train_steps=0, d_model=args.d_model)
            for batch in (1, args.batch_size):
                settings = HFGenerationSettings(
                    kind=kind,
                    prompt_template=template,
                    decoding="sample",
                    max_new_tokens=args.max_new_tokens,
                    batch_size=batch,
                    device="cpu",
                )
                gen = HFTacticGenerator(str(path), settings)
                gen.generate(states[:2], args.k)  # warm-up
                torch.manual_seed(0)
                t0 = time.perf_counter()
                gen.generate(states, args.k)
                dt = time.perf_counter() - t0
                results[f"{kind} batch={batch} states/s"] = round(args.states / dt, 2)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    acc = sub.add_parser("accuracy")
    acc.add_argument("corpus")
    acc.add_argument("--test-fraction", type=float, default=0.2)
    acc.add_argument("--seed", type=int, default=0)
    acc.add_argument("--portfolio-weights", type=float, nargs="+", default=[0.0, 0.2, 0.5])
    acc.add_argument("--cache-dir", default=None, help="embedding cache (default: the user cache directory)")
    thr = sub.add_parser("throughput")
    thr.add_argument("--states", type=int, default=32)
    thr.add_argument("--k", type=int, default=4)
    thr.add_argument("--max-new-tokens", type=int, default=24)
    thr.add_argument("--batch-size", type=int, default=16)
    thr.add_argument("--d-model", type=int, default=64)
    thr.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    result = run_accuracy(args) if args.what == "accuracy" else run_throughput(args)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
