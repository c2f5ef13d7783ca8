"""``prover index``: build a premise index (faiss or BM25) from a corpus, convert corpora, describe an index."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prover.cli.common import CliError, add_config_args, emit, load_config, print_config_if_asked

SOURCES = ("auto", "ours", "leandojo", "traced")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("index", help="build a premise index (faiss or BM25) from a corpus")
    actions = parser.add_subparsers(dest="index_command", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build",
        help="encode a corpus and write an index directory",
        description="Examples:\n  prover index build --corpus corpus.jsonl --out idx\n"
        "  prover index build --corpus corpus.jsonl --out idx retriever.index_type=hnsw\n"
        "  prover index build --corpus corpus.jsonl --out idx-bm25 retriever=bm25",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _corpus_args(build)
    build.add_argument("--out", required=True, help="index directory to write")
    add_config_args(build)
    build.set_defaults(func=run_build)

    convert = actions.add_parser("convert", help="write a corpus in our JSONL format from another source")
    _corpus_args(convert)
    convert.add_argument("--out", required=True, help="corpus.jsonl to write")
    convert.set_defaults(func=run_convert)

    info = actions.add_parser("info", help="check an index directory and print its metadata as JSON")
    info.add_argument("index", help="index directory")
    info.set_defaults(func=run_info)


def _corpus_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        required=True,
        help="corpus.jsonl (ours or LeanDojo Benchmark 4's) or a traced repo directory",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="auto",
        help="how to read --corpus (auto: a directory is a traced repo, a file is sniffed)",
    )
    parser.add_argument(
        "--skip-bad-utf8",
        action="store_true",
        help="skip (and report) corpus lines that are not UTF-8 instead of failing",
    )


def _read(args: argparse.Namespace):
    from prover.retrieval.corpus import (
        CorpusError,
        corpus_from_traced_repo,
        load_traced_repo,
        read_any_corpus,
        read_corpus,
        read_leandojo_corpus,
    )

    policy = "skip" if args.skip_bad_utf8 else "error"
    source = args.source
    if source == "auto":
        source = "traced" if Path(args.corpus).is_dir() else "file"
    try:
        if source == "traced":
            corpus = corpus_from_traced_repo(load_traced_repo(args.corpus))
        elif source == "ours":
            corpus = read_corpus(args.corpus, policy)
        elif source == "leandojo":
            corpus = read_leandojo_corpus(args.corpus, policy)
        else:
            corpus = read_any_corpus(args.corpus, policy)
    except CorpusError as exc:
        raise CliError(str(exc)) from exc
    for line in corpus.skipped:
        print(f"prover index: skipped {line}", file=sys.stderr)
    if not len(corpus):
        raise CliError(f"{args.corpus}: no premises")
    return corpus


def run_build(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    from prover.retrieval.encoder import EncoderError, load_encoder
    from prover.retrieval.index import FaissParams, PremiseIndexError, build_bm25_index, build_dense_index

    rcfg = cfg.retriever
    corpus = _read(args)
    started = time.perf_counter()
    try:
        if rcfg.name == "bm25":
            index = build_bm25_index(corpus)
        elif rcfg.name == "dense":
            encoder = load_encoder(rcfg.encoder, device=rcfg.get("device", "cpu"))
            params = FaissParams(
                nlist=rcfg.get("nlist"),
                nprobe=int(rcfg.get("nprobe", 16)),
                hnsw_m=int(rcfg.get("hnsw_m", 32)),
                ef_construction=int(rcfg.get("ef_construction", 80)),
                ef_search=int(rcfg.get("ef_search", 128)),
            )
            index = build_dense_index(
                corpus,
                encoder,
                rcfg.get("index_type", "flat"),
                params,
                batch_size=int(rcfg.get("batch_size", 64)),
                progress=True,
            )
        else:
            raise CliError(f"unknown retriever '{rcfg.name}' (dense or bm25)")
        out = index.save(args.out)
    except (EncoderError, PremiseIndexError) as exc:
        raise CliError(str(exc)) from exc
    emit({"index": str(out), "seconds": round(time.perf_counter() - started, 3), **_meta_json(index.meta)})
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from prover.retrieval.corpus import write_corpus

    corpus = _read(args)
    digest = write_corpus(corpus, args.out)
    emit(
        {
            "corpus": args.out,
            "premises": len(corpus),
            "files": len(corpus.files),
            "sha256": digest,
            "skipped_lines": len(corpus.skipped),
        }
    )
    return 0


def run_info(args: argparse.Namespace) -> int:
    from prover.retrieval.corpus import CorpusError
    from prover.retrieval.index import PremiseIndex, PremiseIndexError

    try:
        index = PremiseIndex.load(args.index)
    except (PremiseIndexError, CorpusError) as exc:
        raise CliError(str(exc)) from exc
    emit({"index": args.index, "files": len(index.corpus.files), **_meta_json(index.meta)})
    return 0


def _meta_json(meta) -> dict:
    from dataclasses import asdict

    return asdict(meta)
