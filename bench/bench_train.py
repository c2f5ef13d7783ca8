"""Training benchmark: the kNN generator with a fine-tuned (``train=encoder``) vs the stock MiniLM encoder.

Builds training data from a tactic JSONL split BY PROBLEM (``prover.training.build``: the problem part of
``RUN/PROBLEM`` sources, so two provers' proofs of one problem never straddle the split), fine-tunes the
encoder on the train part, then puts each encoder inside the kNN generator (corpus = train steps) and reports
top-1 / top-8 exact tactic (whitespace-normalised) on the held-out problems' steps. Also: training
throughput (pairs/s) and the curation counts per rule.

    .venv/bin/python bench/bench_train.py ../shared/data/tactics/fps-search-proof-steps.jsonl --steps 80

``throughput`` mode: examples/s of each task's trainer (encoder, critic, retriever, generator) for a few
steps on synthetic records with tiny random models (no download, bounded: ``--steps`` x ``--batch-size``);
on a GPU the same command measures the GPU (``--device`` only reports what torch sees).

    .venv/bin/python bench/bench_train.py throughput --steps 20 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from prover.generation.corpus import ProofStep
from prover.training.records import TacticExample, read_records


def _step(r: TacticExample) -> ProofStep:
    return ProofStep(r.theorem, 0, tuple(r.goals), r.goal_id, r.tactic)


#: the kNN generator without its shape model: the neighbours' votes alone, i.e. what the encoder decides
VOTES_ONLY = {"portfolio_weight": 0.0, "learn_mix": False}


def topk(
    train: list[ProofStep], test: list[ProofStep], encoder_name: str, k: int, **knn: object
) -> dict[str, float]:
    from prover.generation.knn import KnnTacticGenerator
    from prover.retrieval.encoder import TextEncoder

    enc = TextEncoder(encoder_name)
    t0 = time.perf_counter()
    knn_gen = KnnTacticGenerator(train, enc, **knn)
    return {**topk_with(knn_gen, test, k), "seconds": round(time.perf_counter() - t0, 1)}


def _tiny_models(work: Path) -> tuple[str, str]:
    """A 2-layer random BERT (MiniLM's tokenizer) and a 2+2-layer random ByT5, both width 64."""
    import torch
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertModel,
        ByT5Tokenizer,
        T5Config,
        T5ForConditionalGeneration,
    )

    from prover.retrieval.encoder import resolve_model_path

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(resolve_model_path("minilm"))
    bert = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=256,
    )
    BertModel(bert).save_pretrained(work / "bert")
    tok.save_pretrained(work / "bert")
    t5 = T5Config(
        vocab_size=384,
        d_model=64,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        d_kv=32,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    T5ForConditionalGeneration(t5).save_pretrained(work / "t5")
    ByT5Tokenizer().save_pretrained(work / "t5")
    return str(work / "bert"), str(work / "t5")


def _synthetic_data(folder: Path, n: int) -> Path:
    """``n`` records per task over 6 tactics / 3 files, all in the train split (no eval during timing)."""
    folder.mkdir(parents=True, exist_ok=True)
    prov = {"source": "bench", "origin": "synthetic"}
    tactics = ["simp", "ring", "omega", "linarith", "norm_num", "exact h"]
    rows: dict[str, list[dict]] = {"tactic": [], "critic": [], "premise": []}
    corpus = [{"file": f"F{f}.lean", "imports": []} for f in range(3)]
    corpus += [
        {"full_name": f"F{f}.l{i}", "code": f"theorem F{f}.l{i} : a{i} + b = b + a{i}", "path": f"F{f}.lean"}
        for f in range(3)
        for i in range(8)
    ]
    for i in range(n):
        goals = [f"x y : ℕ\nh : x + {i} ≤ y\n⊢ x * {i % 7} + y ≤ {i} * y + {i % 5}"]
        base = {"theorem": f"t{i}", "split": "train", "provenance": prov, "goals": goals}
        rows["tactic"].append({**base, "tactic": tactics[i % len(tactics)]})
        rows["critic"].append({**base, "on_proof": i % 2 == 0, "distance": 1 + i % 8 if i % 2 == 0 else None})
        rows["premise"].append({**base, "premises": [f"F{i % 3}.l{i % 8}"], "file": f"F{i % 3}.lean"})
    for task, lines in rows.items():
        (folder / f"{task}.jsonl").write_text(
            "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
        )
    (folder / "corpus.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in corpus))
    return folder


def throughput(argv: list[str]) -> None:
    import torch

    from prover.training.critic import train_critic
    from prover.training.encoder import train_encoder
    from prover.training.generator import train_generator
    from prover.training.retriever import train_retriever
    from prover.training.runs import read_metrics
    from prover.training.settings import (
        CriticTrainSettings,
        EncoderTrainSettings,
        GeneratorTrainSettings,
        RetrieverTrainSettings,
    )

    ap = argparse.ArgumentParser(prog="bench_train.py throughput")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--tasks", default="encoder,critic,retriever,generator")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-train-tp-"))
    bert, t5 = _tiny_models(work)
    data = _synthetic_data(work / "data", max(4 * args.steps * args.batch_size, 256))
    common = {
        "data": str(data),
        "max_steps": args.steps,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "save_steps": 10**6,
        "logging_steps": max(args.steps // 4, 1),
    }
    tasks = {
        "encoder": (train_encoder, EncoderTrainSettings(model=bert, **common)),
        "critic": (train_critic, CriticTrainSettings(model=bert, **common)),
        "retriever": (
            train_retriever,
            RetrieverTrainSettings(model=bert, corpus=str(data / "corpus.jsonl"), eval_examples=0, **common),
        ),
        "generator": (train_generator, GeneratorTrainSettings(model=t5, eval_examples=0, **common)),
    }
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    out: dict = {"device": device, "steps": args.steps, "batch_size": args.batch_size, "tasks": {}}
    for name in args.tasks.split(","):
        fn, settings = tasks[name]
        settings.output_dir = str(work / name)
        t0 = time.perf_counter()
        summary = fn(settings)
        wall = time.perf_counter() - t0
        final = [r for r in read_metrics(work / name) if "train_runtime" in r][-1]
        out["tasks"][name] = {
            "examples_per_s": round(args.steps * args.batch_size / final["train_runtime"], 1),
            "train_runtime_s": round(final["train_runtime"], 2),
            "wall_s_with_load_and_export": round(wall, 2),
            "steps": summary["steps"],
        }
    print(json.dumps(out, indent=2))


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def heldout(argv: list[str]) -> None:
    """Stock vs fine-tuned encoder on held-out problems, the default generator and the votes alone.

    Split by text (``prover.training.build``: problems sharing a goal share a side, 0% leak): the encoder
    trains on train, ``train=encoder`` re-fits the generator's mix on val (``model/knn_mix.json``), and every
    figure is measured on test, problems neither the encoder nor the mix saw. The stock encoder gets the same
    val re-fit (``stock, val-fitted mix``), so the comparison is of encoders, not of fitting procedures.
    """
    from prover.generation.knn import KnnTacticGenerator
    from prover.generation.mix import (
        fit_mix_weights,
        fit_vote_slots,
        heldout_mix_rows,
        heldout_slot_rows,
        load_mix,
        load_vote_slots,
    )
    from prover.retrieval.encoder import TextEncoder
    from prover.training.build import BuildInputs, build
    from prover.training.encoder import train_encoder
    from prover.training.settings import EncoderTrainSettings

    ap = argparse.ArgumentParser(prog="bench_train.py heldout")
    ap.add_argument("corpus")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--val", type=float, default=0.15)
    ap.add_argument("--test", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument(
        "--covered-pairs-per-group",
        type=int,
        default=None,
        help="train.covered_pairs_per_group for the training (default: the config's)",
    )
    ap.add_argument("--encoder", help="a fine-tuned encoder directory: measure it instead of training one")
    ap.add_argument("--work", default=None)
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-train-heldout-"))
    t_all = time.perf_counter()
    summary = build(
        BuildInputs(tactic_files=[Path(args.corpus)]), work / "data", args.val, args.test, args.seed
    )
    records = read_records(work / "data" / "tactic.jsonl", TacticExample)
    train = [_step(r) for r in records if r.split == "train"]
    val = [r for r in records if r.split == "val"]
    test = [_step(r) for r in records if r.split == "test"]
    out: dict = {
        "corpus": args.corpus,
        "split": summary["tasks"]["tactic"]["splits"],
        "leak": summary["tasks"]["tactic"]["leak"],
        "test_problems": len({s.source for s in test}),
    }
    if args.encoder is None:
        settings = EncoderTrainSettings(
            data=str(work / "data"),
            output_dir=str(work / "encoder"),
            max_steps=args.steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
            lr=args.lr,
            save_steps=max(args.steps, 1),
            eval_steps=max(args.steps, 1),
            **(
                {}
                if args.covered_pairs_per_group is None
                else {"covered_pairs_per_group": args.covered_pairs_per_group}
            ),
        )
        t0 = time.perf_counter()
        trained = train_encoder(settings)
        out["train"] = {
            "steps": trained["steps"],
            "wall_s_with_mix_refit": round(time.perf_counter() - t0, 1),
            "train_loss": trained["train_loss"],
            "eval_loss": trained.get("eval_loss"),
            "val_refit": {k: v for k, v in trained.items() if k.startswith(("eval_", "mix_"))},
            "peak_rss_mb": _peak_rss_mb(),
        }
        model = trained["model"]
    else:
        model = args.encoder

    def measure(label: str, name: str, mix: dict[str, float] | None, slots: int | None = None) -> None:
        enc = TextEncoder(name, max_length=args.max_length)
        gen = KnnTacticGenerator(train, enc)
        if mix == {}:  # fit on val for this encoder, as train=encoder does
            mix = fit_mix_weights(heldout_mix_rows(gen, val), gen.portfolio_weight)
        if mix:
            gen.mix_weights = mix
            # reserved vote slots: saved with the mix, else fitted on val as train=encoder does
            gen.vote_slots = (
                slots if slots is not None else fit_vote_slots(heldout_slot_rows(gen, val), k=8)[0]
            )
        out[f"generator {label}"] = {**topk_with(gen, test, 8), "vote_slots": gen.vote_slots}
        votes = KnnTacticGenerator(train, enc, embeddings=gen._vectors, **VOTES_ONLY)
        out[f"votes only {label}"] = topk_with(votes, test, 8)

    measure("stock, corpus-fitted mix", "minilm", None)
    measure("stock, val-fitted mix", "minilm", {})
    measure("fine-tuned, corpus-fitted mix", model, None)
    saved = load_mix(model)
    measure(
        "fine-tuned, val-fitted mix (train=encoder default)",
        model,
        saved or {},
        load_vote_slots(model) if saved else None,
    )
    out["wall_s_total"] = round(time.perf_counter() - t_all, 1)
    out["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(out, indent=2))


def st_compare(argv: list[str]) -> None:
    """Throughput of ``train=encoder`` against sentence-transformers' own training loop with
    ``MultipleNegativesRankingLoss`` (in-batch negatives, scale 20 = our temperature 0.05): same model (the
    packaged MiniLM), same batches, max length and number of steps, in one process.

    Fair on a CPU: both loops see the *same batches in the same order* (a step's cost is set by its longest goal,
    so two random draws of 20 batches differ by more than the loops do): the batches ``train_encoder``'s
    Trainer draws (it is seeded, so every round draws the same) are recorded by wrapping its collator, and
    sentence-transformers' loader replays them. Rounds alternate which loop runs first, so neither always pays
    the process's warm-up or a load change alone.

    sentence-transformers >= 3 routes ``fit`` through its ``SentenceTransformerTrainer``, which needs the
    Hugging Face ``datasets`` package (not a dependency here, and shadowed by the repository's ``datasets/``
    folder); its ``old_fit`` is the same library's own loop without it, so that is what is timed.
    """
    import statistics

    import torch
    from sentence_transformers import InputExample, SentenceTransformer, losses
    from torch.utils.data import DataLoader

    import prover.training.encoder as encoder_module
    from prover.retrieval.encoder import resolve_model_path
    from prover.training.build import BuildInputs, build
    from prover.training.encoder import contrastive_pairs, train_encoder
    from prover.training.runs import read_metrics, set_progress
    from prover.training.settings import EncoderTrainSettings

    ap = argparse.ArgumentParser(prog="bench_train.py st-compare")
    ap.add_argument("corpus")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args(argv)
    set_progress(False)
    work = Path(tempfile.mkdtemp(prefix="bench-train-st-"))
    build(BuildInputs(tactic_files=[Path(args.corpus)]), work / "data", val=0.0, test=0.2, seed=2)
    records = [r for r in read_records(work / "data" / "tactic.jsonl", TacticExample) if r.split == "train"]
    settings = EncoderTrainSettings(
        data=str(work / "data"),
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        save_steps=10**6,
        logging_steps=args.steps,
        warmup_ratio=0.0,
        refit_mix=False,
    )
    pairs = contrastive_pairs(records, settings, 0)
    index = {(p["a"], p["b"]): i for i, p in enumerate(pairs)}
    examples = [InputExample(texts=[p["a"], p["b"]]) for p in pairs]
    drawn: list[list[list[int]]] = []  # per run of ours: the pair indices of each batch, in order
    plain_collator = encoder_module._collator

    def recording_collator(tokenizer: Any, max_length: int) -> Any:
        collate = plain_collator(tokenizer, max_length)
        batches: list[list[int]] = []
        drawn.append(batches)

        def record(batch: list[Any]) -> Any:
            batches.append([index[(x["a"], x["b"])] for x in batch])
            return collate(batch)

        return record

    def run_ours(round_no: int) -> float:
        run = settings.model_copy(update={"output_dir": str(work / f"ours-{round_no}")})
        train_encoder(run)
        return float([r for r in read_metrics(run.output_dir) if "train_runtime" in r][-1]["train_runtime"])

    def run_theirs(batches: list[list[int]]) -> float:
        torch.manual_seed(0)
        model = SentenceTransformer(resolve_model_path("minilm"), device="cpu")
        model.max_seq_length = args.max_length
        loader = DataLoader(examples, batch_sampler=batches)  # type: ignore[arg-type]
        loss = losses.MultipleNegativesRankingLoss(model, scale=20.0)
        t0 = time.perf_counter()
        model.old_fit(
            train_objectives=[(loader, loss)],
            epochs=1,
            steps_per_epoch=len(batches),
            warmup_steps=0,
            optimizer_params={"lr": settings.lr},
            show_progress_bar=False,
        )
        return time.perf_counter() - t0

    ours: list[float] = []
    theirs: list[float] = []
    encoder_module._collator = recording_collator  # type: ignore[assignment]
    try:
        for round_no in range(args.rounds):
            if round_no % 2 == 0:
                ours.append(run_ours(round_no))
                theirs.append(run_theirs(drawn[-1]))
            else:  # theirs first, on the batches ours drew (the same every round: the Trainer is seeded)
                theirs.append(run_theirs(drawn[0]))
                ours.append(run_ours(round_no))
            if drawn[-1] != drawn[0]:
                raise SystemExit(
                    "the Trainer drew other batches in another round: the comparison is not fair"
                )
    finally:
        encoder_module._collator = plain_collator
    pairs_done = args.steps * args.batch_size
    out = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "rounds": args.rounds,
        "same_batches": True,
        "ours_s": [round(x, 1) for x in ours],
        "sentence_transformers_old_fit_s": [round(x, 1) for x in theirs],
        "ours_pairs_per_s": round(pairs_done / statistics.median(ours), 2),
        "st_pairs_per_s": round(pairs_done / statistics.median(theirs), 2),
        "ratio_ours_over_st": round(statistics.median(theirs) / statistics.median(ours), 3),
        # the machine's load changes between runs: the best run of each and each round's own ratio as well
        "ratio_best_runs": round(min(theirs) / min(ours), 3),
        "ratio_per_round": [round(t / o, 3) for o, t in zip(ours, theirs, strict=True)],
        "peak_rss_mb": _peak_rss_mb(),
    }
    print(json.dumps(out, indent=2))


def topk_with(gen: object, test: list[ProofStep], k: int) -> dict[str, float]:
    """Top-1 / top-``k`` of ``gen`` on ``test``, measured as ``train=encoder`` measures on val."""
    from prover.training.encoder import validation_topk

    return validation_topk(gen, test, "", k)


def main() -> None:
    import sys

    if sys.argv[1:2] == ["throughput"]:
        throughput(sys.argv[2:])
        return
    if sys.argv[1:2] == ["heldout"]:
        heldout(sys.argv[2:])
        return
    if sys.argv[1:2] == ["st-compare"]:
        st_compare(sys.argv[2:])
        return
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
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--batching", choices=["random", "hard"], default="random")
    ap.add_argument("--skip-stock", action="store_true", help="do not re-measure the stock encoder")
    ap.add_argument("--encoder", help="measure this fine-tuned encoder directory instead of training one")
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
        lr=args.lr,
        batching=args.batching,
    )
    t0 = time.perf_counter()
    trained = train_encoder(settings) if args.encoder is None else {"model": args.encoder}
    seconds = time.perf_counter() - t0
    out: dict = {
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
        }
        if args.encoder is None
        else {"encoder": args.encoder},
        "settings": {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "batching": args.batching,
        },
    }
    encoders = {"fine-tuned minilm": trained["model"]}
    if not args.skip_stock:
        encoders = {"stock minilm": "minilm", **encoders}
    for label, name in encoders.items():
        out[f"knn {label}"] = topk(train, test, name, args.k)
        out[f"votes only {label}"] = topk(train, test, name, args.k, **VOTES_ONLY)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
