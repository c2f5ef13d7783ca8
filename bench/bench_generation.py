"""Generation benchmark: offline tactic accuracy (kNN + shape model vs baselines) and HF throughput.

(1) ``accuracy``: on a (state, tactic) corpus, two kinds of split: BY PROBLEM (``source``, fixed seed) and
    HELD-OUT BENCHMARK (train on the steps of one source benchmark, test on the other's; both directions). For the
    kNN generator (config defaults), the automation portfolio alone (default priors; priors learned from train)
    and BM25 nearest states proposing their tactics: top-1 / top-8 exact tactic (whitespace-normalised) and head
    (first word) match, the share of suggestions naming a local the state lacks (``names.unknown_locals``), and
    p50/p99 latency per state (one state per call, first 100 test states, after a warm-up call).
(2) ``throughput``: states/s of tiny random-initialised seq2seq and causal models on CPU, batched vs one state
    at a time (same prompts, same decoding).

    .venv/bin/python -m bench.bench_generation accuracy ../shared/data/tactics/fps-search-proof-steps.jsonl
    .venv/bin/python -m bench.bench_generation accuracy CORPUS --splits problem     # only the by-problem split
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


def _head(t: str) -> str:
    words = t.split()
    return words[0] if words else ""


def problem_of(source: str) -> str:
    """The problem a step belongs to, whoever proved it: ``leanstar/proving.minif2f_solving#12`` ->
    ``proving.minif2f_solving#12``. Two provers' proofs of one problem must land on the same side of a split."""
    return source.split("/", 1)[-1]


def split_by_problem(steps: Sequence, test_fraction: float, seed: int) -> tuple[list, list]:
    problems = sorted({problem_of(s.source) for s in steps})
    random.Random(seed).shuffle(problems)
    test_problems = set(problems[: int(round(len(problems) * test_fraction))])
    return (
        [s for s in steps if problem_of(s.source) not in test_problems],
        [s for s in steps if problem_of(s.source) in test_problems],
    )


def benchmark_of(source: str) -> str:
    """The source benchmark of a step: ``leanstar/proving.minif2f_solving#12`` -> ``minif2f_solving``."""
    return source.split("#", 1)[0].rsplit(".", 1)[-1]


def split_by_benchmark(steps: Sequence, held_out: str) -> tuple[list, list]:
    """Train on every other source benchmark, test on ``held_out``."""
    return (
        [s for s in steps if benchmark_of(s.source) != held_out],
        [s for s in steps if benchmark_of(s.source) == held_out],
    )


def request_for(step: object) -> GenerationRequest:
    """The state as search would pass it: the goal the tactic ran on first, then the others."""
    goals = list(step.goals)  # type: ignore[attr-defined]
    focused = goals.pop(step.goal_id)  # type: ignore[attr-defined]
    return GenerationRequest(goals=[focused, *goals])


def unknown_name_flags(request: GenerationRequest, tactics: Sequence[str]) -> list[bool]:
    """For each tactic: does it name a local (hypothesis / variable) that the state does not have?"""
    from prover.generation.goals import parse_goal
    from prover.generation.names import state_names, unknown_locals

    names = [parse_goal(g).names() for g in request.goals]
    return [bool(unknown_locals(t, state_names(names, t))) for t in tactics]


def evaluate(
    predict: Callable[[list[GenerationRequest], int], list[list[str]]],
    test: Sequence,
    k: int = 8,
    latency_states: int = 100,
    batch: int = 64,
) -> dict[str, float]:
    """Top-1/top-k exact and head match and unknown-local-name shares (batched calls), then latency per state
    on the first ``latency_states`` test states, one state per call, after one warm-up call."""
    exact1 = exactk = head1 = headk = 0
    flagged = flagged_top1 = suggested = heads = 0
    for start in range(0, len(test), batch):
        chunk = test[start : start + batch]
        requests = [request_for(step) for step in chunk]
        for step, request, row in zip(chunk, requests, predict(requests, k), strict=True):
            pred = [_norm(p) for p in row]
            truth = _norm(step.tactic)
            exact1 += bool(pred) and pred[0] == truth
            exactk += truth in pred
            head1 += bool(pred) and _head(pred[0]) == _head(truth)
            headk += _head(truth) in {_head(p) for p in pred}
            heads += len({_head(p) for p in pred})
            flags = unknown_name_flags(request, pred)
            flagged += sum(flags)
            flagged_top1 += bool(flags) and flags[0]
            suggested += len(pred)
    latencies: list[float] = []
    timed = [request_for(step) for step in test[:latency_states]]
    if timed:
        predict(timed[:1], k)
    for request in timed:
        t0 = time.perf_counter()
        predict([request], k)
        latencies.append(time.perf_counter() - t0)
    n = len(test)
    lat = np.array(latencies or [0.0]) * 1000
    return {
        "top1": round(exact1 / n, 4),
        f"top{k}": round(exactk / n, 4),
        "head_top1": round(head1 / n, 4),
        f"head_top{k}": round(headk / n, 4),
        "unknown_names": round(flagged / max(suggested, 1), 4),
        "unknown_names_top1": round(flagged_top1 / n, 4),
        f"distinct_heads_top{k}": round(heads / n, 2),
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
    }


def _embeddings(path: Path, steps: Sequence, enc: object, cache_dir: str | None) -> np.ndarray:
    from prover.files import file_sha256
    from prover.generation.knn import _cache_path

    cache = _cache_path(path.resolve(), "minilm", file_sha256(path), cache_dir)
    if cache.is_file():
        return np.load(cache)
    print(f"embedding {len(steps)} goals (cached at {cache})", file=sys.stderr)
    emb = enc.encode([s.focused_goal for s in steps])  # type: ignore[attr-defined]
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, emb)
    return emb


def run_split(
    name: str, train: Sequence, test: Sequence, emb_of: Callable[[Sequence], np.ndarray], enc: object, k: int
) -> dict[str, object]:
    from rank_bm25 import BM25Okapi

    from prover.generation.knn import KnnTacticGenerator
    from prover.generation.portfolio import AutomationPortfolio, learn_priors

    def gen_predict(gen: object) -> Callable[[list[GenerationRequest], int], list[list[str]]]:
        return lambda requests, kk: [[s.tactic for s in row] for row in gen.generate(requests, kk)]  # type: ignore[attr-defined]

    out: dict[str, object] = {
        "split": name,
        "train_steps": len(train),
        "test_steps": len(test),
        "test_problems": len({problem_of(s.source) for s in test}),
    }
    t0 = time.perf_counter()
    knn = KnnTacticGenerator(train, enc, embeddings=emb_of(train))
    out["fit_seconds"] = round(time.perf_counter() - t0, 1)
    out["knn + shape model (config default)"] = evaluate(gen_predict(knn), test, k)
    out["automation alone, default priors"] = evaluate(gen_predict(AutomationPortfolio()), test, k)
    out["automation alone, priors learned from train"] = evaluate(
        gen_predict(AutomationPortfolio(priors=learn_priors(s.tactic for s in train))), test, k
    )
    bm25 = BM25Okapi([s.focused_goal.split() for s in train])

    def bm25_predict(requests: list[GenerationRequest], kk: int) -> list[list[str]]:
        rows = []
        for request in requests:
            scores = bm25.get_scores(request.first_goal.split())
            ranked: list[str] = []
            for i in np.argsort(-scores):
                t = _norm(train[int(i)].tactic)
                if t not in ranked:
                    ranked.append(t)
                if len(ranked) == kk:
                    break
            rows.append(ranked)
        return rows

    out["bm25 nearest states"] = evaluate(bm25_predict, test, k)
    return out


def run_accuracy(args: argparse.Namespace) -> dict[str, object]:
    from prover.generation.corpus import load_corpus
    from prover.retrieval.encoder import load_encoder

    path = Path(args.corpus)
    steps = load_corpus(path)
    enc = load_encoder("minilm")
    emb = _embeddings(path, steps, enc, args.cache_dir)
    index_of = {id(s): i for i, s in enumerate(steps)}

    def emb_of(part: Sequence) -> np.ndarray:
        return emb[[index_of[id(s)] for s in part]]

    splits: list[tuple[str, list, list]] = []
    if "problem" in args.splits:
        train, test = split_by_problem(steps, args.test_fraction, args.seed)
        splits.append((f"by problem (80/20, seed {args.seed})", train, test))
    if "benchmark" in args.splits:
        for held in sorted({benchmark_of(s.source) for s in steps}):
            train, test = split_by_benchmark(steps, held)
            splits.append((f"held-out benchmark {held}", train, test))
    t0 = time.perf_counter()
    results: dict[str, object] = {"corpus": str(path), "steps": len(steps), "seed": args.seed}
    results["splits"] = [run_split(name, tr, te, emb_of, enc, args.k) for name, tr, te in splits]
    results["seconds"] = round(time.perf_counter() - t0, 1)
    return results


def run_throughput(args: argparse.Namespace) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import torch
    from tiny_models import make_causal, make_seq2seq

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
    acc.add_argument(
        "--splits", nargs="+", choices=["problem", "benchmark"], default=["problem", "benchmark"]
    )
    acc.add_argument("--k", type=int, default=8)
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
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
