"""``prover data fetch``: put a manifest entry into the cache, from its pinned URL or a local copy, checked.

Downloads use urllib (no shell, no external tool), go to a temporary file first and are renamed into
place only after the checksum and the problem count match, so the cache never holds a half-checked file.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from prover.evaluation.errors import EvaluationError
from prover.evaluation.manifest import ManifestEntry, cache_root, cached_path
from prover.files import file_sha256

CHUNK = 1 << 20


class FetchError(EvaluationError, RuntimeError):
    """Download or check failed; the message says which entry and why."""


def check_file(entry: ManifestEntry, path: Path) -> str:
    """Raise unless ``path`` has the manifest's SHA-256 (entries without one are accepted); return the hash."""
    actual = file_sha256(path)
    if entry.sha256 and actual != entry.sha256:
        raise FetchError(
            f"{entry.name}: checksum mismatch for {path}: sha256 {actual}, manifest expects {entry.sha256}"
        )
    return actual


def fetch(
    entry: ManifestEntry,
    from_path: str | Path | None = None,
    root: Path | None = None,
    force: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Make ``entry`` available in the cache and return its path; already-checked copies are reused."""
    target = cached_path(entry, root or cache_root())
    if target.is_file() and not force and from_path is None:
        check_file(entry, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / target.name
        if from_path is not None:
            source = Path(from_path).expanduser()
            if source.is_dir():
                raise FetchError(f"{entry.name}: --from {source} is a directory; name the data file itself")
            if not source.is_file():
                raise FetchError(f"{entry.name}: --from {source}: no such file")
            shutil.copyfile(source, staged)
        elif entry.download == "file" and entry.url:
            _download(entry.url, staged, progress)
        elif entry.download == "github_archive" and entry.url:
            archive = Path(tmp) / "archive.tar.gz"
            _download(entry.url, archive, progress)
            if entry.format == "putnambench_jsonl":
                convert_putnambench_archive(archive, entry, staged)
            else:
                convert_lean_archive(archive, entry, staged)
        else:
            hint = f" ({entry.note})" if entry.note else ""
            raise FetchError(f"{entry.name}: no automatic download; use --from PATH{hint}")
        check_file(entry, staged)
        check_count(entry, staged)
        staged.replace(target)
    meta = {
        "name": entry.name,
        "revision": entry.revision,
        "sha256": file_sha256(target),
        "from": str(from_path) if from_path else entry.url,
    }
    (target.parent / "fetched.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return target


def _download(url: str, dest: Path, progress: Callable[[int, int | None], None] | None) -> None:
    if not url.startswith(("https://", "http://", "file://")):
        raise FetchError(f"refusing to download from {url!r}: only http(s) and file URLs")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, dest.open("wb") as out:
            total = response.headers.get("Content-Length")
            size = int(total) if total and total.isdigit() else None
            done = 0
            while block := response.read(CHUNK):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, size)
    except OSError as exc:
        raise FetchError(f"download of {url} failed: {exc}") from exc


def check_count(entry: ManifestEntry, path: Path) -> None:
    """Benchmarks must load with exactly the expected number of problems and nothing skipped."""
    if entry.kind != "benchmark" or entry.expected_count is None:
        return
    from prover.evaluation.benchmarks import BenchmarkError, load_path

    try:
        report = load_path(path, entry.format, entry.name)
    except BenchmarkError as exc:
        raise FetchError(f"{entry.name}: {exc}") from None
    if report.skipped or len(report.problems) != entry.expected_count:
        raise FetchError(
            f"{entry.name}: {len(report.problems)} problems read, {len(report.skipped)} skipped; "
            f"the manifest expects {entry.expected_count}"
        )


def convert_lean_archive(archive: Path, entry: ManifestEntry, dest: Path) -> None:
    """Turn a repository archive's ``.lean`` folders (``entry.files``) into the miniF2F JSONL format."""
    from prover.evaluation.benchmarks import load_lean_file

    rows = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or ".." in parts or not member.name.endswith(".lean"):
                continue
            inner = "/".join(parts[1:])  # strip the archive's top folder
            folder = next((f for f in entry.files if inner.startswith(f.rstrip("/") + "/")), None)
            if folder is None:
                continue
            split = PurePosixPath(folder).name.lower()
            fh = tar.extractfile(member)
            if fh is None:
                continue
            with tempfile.NamedTemporaryFile("wb", suffix=".lean", delete=False) as tmp:
                tmp.write(fh.read())
            try:
                report = load_lean_file(Path(tmp.name), inner, split)
            finally:
                Path(tmp.name).unlink()
            for p in report.problems:
                rows.append(
                    {
                        "name": p.id,
                        "split": split,
                        "header": p.theorem.header,
                        "formal_statement": p.theorem.statement + " := by sorry",
                    }
                )
    if not rows:
        raise FetchError(f"{entry.name}: no theorems under {entry.files} in the archive")
    buf = io.StringIO()
    for row in rows:
        buf.write(json.dumps(row, ensure_ascii=False) + "\n")
    dest.write_text(buf.getvalue(), encoding="utf-8")


def convert_putnambench_archive(archive: Path, entry: ManifestEntry, dest: Path) -> None:
    """PutnamBench's ``lean4/src/*.lean`` files (one problem each) as our JSONL copy, sorted by name.

    Each line is ``putnambench_row``: the whole file, its answer holes and the reference answers from the comment
    under each hole; the bytes equal the mirror in ``../shared/data``, so the manifest's sha256 checks the result.
    """
    from prover.evaluation.benchmarks import putnambench_row

    rows = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or ".." in parts or not member.name.endswith(".lean"):
                continue
            inner = PurePosixPath(*parts[1:])  # strip the archive's top folder
            if not any(str(inner.parent) == f.rstrip("/") for f in entry.files):
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            rows.append(putnambench_row(inner.stem, fh.read().decode("utf-8")))
    if not rows:
        raise FetchError(f"{entry.name}: no .lean files under {entry.files} in the archive")
    rows.sort(key=lambda r: r["name"])
    dest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
