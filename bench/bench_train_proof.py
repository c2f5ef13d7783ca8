"""Whole-proof training throughput: ``train=generator train.examples=proof`` on synthetic proof records.

The companion of ``bench/bench_train.py throughput`` (same tiny random width-64 ByT5, same step / batch
accounting) for the whole-proof examples: each example is a (statement ``… := by`` -> multi-line tactic
script) pair in the prompt whole-proof search shows, so targets are several times longer than one tactic.

    .venv/bin/python bench/bench_train_proof.py --steps 20 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def _synthetic_proofs(folder: Path, n: int) -> Path:
    """``n`` whole-proof records (all train split), scripts of 2-4 tactic lines."""
    folder.mkdir(parents=True, exist_ok=True)
    prov = {"source": "bench", "origin": "synthetic"}
    scripts = [
        "intro h\nsimp at h\nomega",
        "constructor\n· exact hp\n· exact hq",
        "induction n with\n| zero => simp\n| succ k ih => simp [ih]; ring",
        "nlinarith [sq_nonneg (x - y), sq_nonneg (x + y)]\nlinarith",
    ]
    lines = []
    for i in range(n):
        statement = f"theorem p{i} (x y : ℕ) (h : x + {i} ≤ y) : x * {i % 7} + y ≤ {i} * y + {i % 5}"
        script = scripts[i % len(scripts)]
        proof = statement + " := by\n" + "\n".join("  " + line for line in script.splitlines())
        lines.append(
            {
                "theorem": f"p{i}",
                "split": "train",
                "provenance": prov,
                "statement": statement,
                "proof": proof,
                "header": "import Mathlib\n",
            }
        )
    (folder / "proof.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return folder


def main() -> None:
    import torch
    from bench_train import _tiny_models

    from prover.training.generator import train_generator
    from prover.training.runs import read_metrics
    from prover.training.settings import GeneratorTrainSettings

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--max-target-length", type=int, default=256)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-train-proof-"))
    _, t5 = _tiny_models(work)
    data = _synthetic_proofs(work / "data", max(4 * args.steps * args.batch_size, 256))
    settings = GeneratorTrainSettings(
        model=t5,
        data=str(data),
        output_dir=str(work / "generator-proof"),
        examples="proof",
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_target_length=args.max_target_length,
        save_steps=10**6,
        logging_steps=max(args.steps // 4, 1),
        eval_examples=0,
    )
    t0 = time.perf_counter()
    summary = train_generator(settings)
    wall = time.perf_counter() - t0
    final = [r for r in read_metrics(settings.output_dir) if "train_runtime" in r][-1]
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    out = {
        "device": device,
        "steps": summary["steps"],
        "batch_size": args.batch_size,
        "examples_per_s": round(args.steps * args.batch_size / final["train_runtime"], 1),
        "train_runtime_s": round(final["train_runtime"], 2),
        "wall_s_with_load_and_export": round(wall, 2),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
