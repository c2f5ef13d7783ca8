"""Retrieval benchmark: MiniLM encoding throughput, and exact vs IVF vs HNSW faiss on a 200k-premise index.

Encoding 200k premises with MiniLM on a shared 2-core CPU would take far too long, so the large index is
built from vectors that mimic real embeddings: ``--centres`` real MiniLM embeddings of Lean text (proof
goals from ../shared, or any JSONL with a text field) serve as cluster centres, and every indexed vector is
a centre plus Gaussian noise, re-normalised (``--noise`` sets how far it strays: cosine to its centre is
printed). Queries are real embeddings of texts that are not centres. Recall@10 is measured against the
exact (flat) index on the same vectors.

    .venv/bin/python -m bench.bench_retrieval --size 200000 --queries 500
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_TEXTS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "tactics" / "fps-search-proof-steps.jsonl"
)


def load_texts(path: Path, limit: int) -> list[str]:
    """Distinct goal texts (each ``goals`` list joined), in file order."""
    seen: dict[str, None] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            text = "\n\n".join(obj["goals"]) if "goals" in obj else obj.get("code") or obj.get("text", "")
            if text.strip():
                seen.setdefault(text, None)
            if len(seen) >= limit:
                break
    return list(seen)


def encoder_throughput(texts: list[str], batch_size: int) -> tuple[np.ndarray, dict]:
    from prover.retrieval.encoder import load_encoder

    encoder = load_encoder("minilm")
    encoder.encode(texts[:batch_size])  # warm-up
    started = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=batch_size)
    seconds = time.perf_counter() - started
    return vectors, {
        "texts": len(texts),
        "seconds": round(seconds, 2),
        "per_second": round(len(texts) / seconds, 1),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "batch_size": batch_size,
    }


def synthetic_corpus(centres: np.ndarray, size: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((size, centres.shape[1]), dtype=np.float32)
    for start in range(0, size, 20_000):
        n = min(20_000, size - start)
        block = centres[rng.integers(0, len(centres), n)] + noise * rng.standard_normal((n, centres.shape[1]))
        out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def latency(
    index, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, list[float]]:
    from prover.retrieval.index import search_faiss

    rows, times = [], []
    for q in queries:
        started = time.perf_counter()
        _, r = search_faiss(index, q[None, :], k, allowed)
        times.append((time.perf_counter() - started) * 1000)
        rows.append(r[0])
    return np.stack(rows), times


def main(argv: list[str] | None = None) -> int:
    import faiss

    from prover.retrieval.index import FaissParams, build_faiss

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--texts", type=Path, default=DEFAULT_TEXTS, help="JSONL of Lean text (goals/code/text)"
    )
    parser.add_argument("--centres", type=int, default=2000, help="real embeddings used as cluster centres")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--size", type=int, default=200_000, help="vectors in the large index")
    parser.add_argument(
        "--noise", type=float, default=0.04, help="per-dimension Gaussian noise around a centre"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="faiss OpenMP threads (0: faiss default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.texts.is_file():
        parser.error(f"{args.texts} does not exist (pass --texts)")
    if args.threads:
        faiss.omp_set_num_threads(args.threads)

    texts = load_texts(args.texts, args.centres + args.queries)
    if len(texts) < args.centres + args.queries:
        parser.error(f"{args.texts} has only {len(texts)} distinct texts; lower --centres/--queries")
    vectors, enc = encoder_throughput(texts, args.batch_size)
    print(json.dumps({"encoder": "minilm", **enc}), flush=True)
    centres, queries = vectors[: args.centres], vectors[args.centres :]

    base = synthetic_corpus(centres, args.size, args.noise, args.seed)
    print(
        json.dumps(
            {
                "corpus": args.size,
                "dim": base.shape[1],
                "noise": args.noise,
                "mean_cos_to_centre": round(
                    float(
                        np.mean(
                            np.sum(base[:2000] * centres[np.argmax(base[:2000] @ centres.T, axis=1)], axis=1)
                        )
                    ),
                    3,
                ),
            }
        ),
        flush=True,
    )

    configs = [
        ("flat", FaissParams(), {}),
        ("ivf", FaissParams(nprobe=16), {"nprobe": 16}),
        ("ivf", FaissParams(nprobe=64), {"nprobe": 64}),
        ("hnsw", FaissParams(hnsw_m=32, ef_construction=80, ef_search=64), {"efSearch": 64}),
        ("hnsw", FaissParams(hnsw_m=32, ef_construction=80, ef_search=128), {"efSearch": 128}),
    ]
    built: dict[str, tuple[object, float]] = {}
    exact_rows = None
    for index_type, params, knobs in configs:
        if index_type in built:
            index, build_s = built[index_type]
            if index_type == "ivf":
                index.nprobe = params.nprobe
            else:
                index.hnsw.efSearch = params.ef_search
        else:
            started = time.perf_counter()
            index = build_faiss(base, index_type, params)
            build_s = time.perf_counter() - started
            built[index_type] = (index, build_s)
        rows, times = latency(index, queries, args.k)
        if exact_rows is None:
            exact_rows = rows
        recall = np.mean([len(set(a) & set(e)) / args.k for a, e in zip(rows, exact_rows, strict=True)])
        record = {
            "index": index_type,
            **knobs,
            "build_s": round(build_s, 2),
            "memory_mb": round(faiss.serialize_index(index).nbytes / 2**20, 1),
            "p50_ms": round(float(np.percentile(times, 50)), 3),
            "p99_ms": round(float(np.percentile(times, 99)), 3),
            "recall_at_10": round(float(recall), 4),
        }
        if index_type == "ivf":
            record["nlist"] = int(index.nlist)
        print(json.dumps(record), flush=True)

    # Accessible-premise filtering inside faiss: half of the corpus allowed (a typical Mathlib file sees most).
    allowed = np.sort(np.random.default_rng(args.seed).choice(args.size, args.size // 2, replace=False))
    for index_type in ("flat", "hnsw"):
        index, _ = built[index_type]
        rows, times = latency(index, queries[:100], args.k, allowed)
        print(
            json.dumps(
                {
                    "index": index_type,
                    "filter": "50% of rows allowed (IDSelectorBatch)",
                    "p50_ms": round(float(np.percentile(times, 50)), 3),
                    "p99_ms": round(float(np.percentile(times, 99)), 3),
                }
            ),
            flush=True,
        )
    print("done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
