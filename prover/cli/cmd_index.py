"""``prover index``: build a premise index (faiss or BM25) from a corpus, convert corpora, describe an index.

Parsing and printing only: reading any corpus source is ``prover.retrieval.corpus.read_corpus_source``,
building the configured index is ``prover.retrieval.index.build_index``. Library errors (``RetrievalError``,
``ConfigError``) reach ``prover.cli.main``, which prints them as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

from prover.cli.common import (
    CliError,
    add_config_args,
    check_output_dir,
    check_output_file,
    emit,
    load_config,
    print_config_if_asked,
)
from prover.progress import enabled as progress_enabled


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
    from prover.retrieval.corpus import CORPUS_SOURCES

    parser.add_argument(
        "--corpus",
        required=True,
        help="corpus.jsonl (ours or LeanDojo Benchmark 4's) or a traced repo directory",
    )
    parser.add_argument(
        "--source",
        choices=CORPUS_SOURCES,
        default="auto",
        help="how to read --corpus (auto: a directory is a traced repo, a file is sniffed)",
    )
    parser.add_argument(
        "--skip-bad-utf8",
        action="store_true",
        help="skip (and report) corpus lines that are not UTF-8 instead of failing",
    )


def _read(args: argparse.Namespace):
    from prover.retrieval.corpus import read_corpus_source

    corpus = read_corpus_source(args.corpus, args.source, "skip" if args.skip_bad_utf8 else "error")
    for line in corpus.skipped:
        print(f"prover index: skipped {line}", file=sys.stderr)
    if not len(corpus):
        raise CliError(f"{args.corpus}: no premises")
    return corpus


def run_build(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    from prover.retrieval.index import build_index
    from prover.retrieval.settings import retriever_settings

    settings = retriever_settings(cfg.retriever)
    check_output_dir(args.out)  # before the corpus is read and the encoder loaded
    corpus = _read(args)
    started = time.perf_counter()
    index = build_index(corpus, settings, progress=progress_enabled())  # quiet with --no-progress
    out = index.save(args.out)
    emit({"index": str(out), "seconds": round(time.perf_counter() - started, 3), **asdict(index.meta)})
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from prover.retrieval.corpus import write_corpus

    check_output_file(args.out)
    if Path(
        args.out
    ).exists():  # a corpus file is never overwritten silently (an index or data file may be it)
        raise CliError(f"--out {args.out} already exists; name a new file or remove it first")
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
    from prover.retrieval.index import PremiseIndex

    index = PremiseIndex.load(args.index)
    emit({"index": args.index, "files": len(index.corpus.files), **asdict(index.meta)})
    return 0
