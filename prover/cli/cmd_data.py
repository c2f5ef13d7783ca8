"""``prover data``: list, fetch and check benchmarks and corpora from the manifest; show a benchmark's problems."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prover.cli.common import CliError, emit


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="list, fetch and check benchmarks and corpora from the manifest")
    inner = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = inner.add_parser("list", help="every manifest entry, and whether it is in the cache")
    p.set_defaults(func=_list)
    p = inner.add_parser(
        "fetch", help="download NAME at its pinned revision (or copy --from PATH) and check it"
    )
    p.add_argument("name")
    p.add_argument("--from", dest="from_path", type=Path, help="a local copy to check and cache instead")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.set_defaults(func=_fetch)
    p = inner.add_parser("check", help="re-check the cached copy of NAME (checksum and problem count)")
    p.add_argument("name")
    p.set_defaults(func=_check)
    p = inner.add_parser(
        "show", help="print the problems of a benchmark (manifest NAME or a file) as JSON lines"
    )
    p.add_argument("name", help="manifest name, or a .jsonl/.json/.lean file or directory")
    p.add_argument("--split")
    p.add_argument("--limit", type=int)
    p.set_defaults(func=_show)
    from prover.cli import cmd_data_train

    cmd_data_train.register(inner)


def _entry(name: str):
    from prover.evaluation.manifest import ManifestError, load_manifest

    try:
        return load_manifest().get(name)
    except ManifestError as exc:
        raise CliError(str(exc)) from exc


def _list(args: argparse.Namespace) -> int:
    from prover.evaluation.manifest import ManifestError, cached_path, load_manifest

    try:
        manifest = load_manifest()
    except ManifestError as exc:
        raise CliError(str(exc)) from exc
    for e in manifest.entries:
        path = cached_path(e)
        emit(
            {
                "name": e.name,
                "kind": e.kind,
                "count": e.expected_count,
                "revision": e.revision,
                "licence": e.licence,
                "download": e.download,
                "cached": path.is_file(),
                "path": str(path),
                "description": e.description,
            }
        )
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from prover.evaluation.fetch import FetchError, fetch

    entry = _entry(args.name)
    try:
        path = fetch(
            entry, from_path=args.from_path, force=args.force, progress=_progress_printer(entry.name)
        )
    except FetchError as exc:
        raise CliError(str(exc)) from exc
    emit({"name": entry.name, "path": str(path), "sha256_ok": bool(entry.sha256), "revision": entry.revision})
    return 0


def _progress_printer(name: str):
    def report(done: int, total: int | None) -> None:
        of = f" of {total / 1e6:.1f}" if total else ""
        print(f"\r{name}: {done / 1e6:.1f}{of} MB", end="", file=sys.stderr, flush=True)

    return report


def _check(args: argparse.Namespace) -> int:
    from prover.evaluation.fetch import FetchError, check_count, check_file
    from prover.evaluation.manifest import cached_path

    entry = _entry(args.name)
    path = cached_path(entry)
    if not path.is_file():
        raise CliError(f"{entry.name} is not in the cache ({path}); run `prover data fetch {entry.name}`")
    try:
        digest = check_file(entry, path)
        check_count(entry, path)
    except FetchError as exc:
        raise CliError(str(exc)) from exc
    emit({"name": entry.name, "path": str(path), "sha256": digest, "ok": True})
    return 0


def _show(args: argparse.Namespace) -> int:
    from prover.evaluation.benchmarks import BenchmarkError, load_benchmark

    cfg = {"name": args.name, "split": args.split, "limit": args.limit}
    if Path(args.name).exists():
        cfg["path"] = args.name
    try:
        problems, report = load_benchmark(cfg)
    except BenchmarkError as exc:
        raise CliError(str(exc)) from exc
    for name, reason in report.skipped:
        print(f"prover data: skipped {name}: {reason}", file=sys.stderr)
    for p in problems:
        emit(p.to_json())
    print(f"prover data: {len(problems)} problems, {len(report.skipped)} skipped", file=sys.stderr)
    return 0
