"""The dataset manifest (``datasets/manifest.json``): what each benchmark is, where it comes from, its checksum.

Real data is never committed; this file pins every source (URL, revision, licence, SHA-256), so a run's
inputs are reproducible and a tampered or truncated download is caught before it is used.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from prover.evaluation.errors import EvaluationError
from prover.files import cache_root

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MANIFEST = REPO_ROOT / "datasets" / "manifest.json"
log = logging.getLogger(__name__)

#: How ``prover data fetch`` gets an entry: one file at a pinned URL, or a repository archive to convert.
DownloadKind = Literal["file", "github_archive", "none"]
#: Which loader reads the fetched file (see ``prover.evaluation.benchmarks``).
DataFormat = Literal[
    "minif2f_jsonl",
    "formalmath_json",
    "fps_jsonl",
    "tactic_jsonl",
    "leandojo_corpus",
    "theorems_jsonl",
    "putnambench_jsonl",
]


class ManifestError(EvaluationError, ValueError):
    """The manifest is missing, malformed, or does not name the requested entry."""


class ManifestEntry(BaseModel):
    """One benchmark or corpus. ``sha256`` is the checksum of the file as stored in the cache."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    description: str
    source_url: str
    revision: str
    files: list[str]
    licence: str
    expected_count: int | None = None
    splits: dict[str, int] | None = None
    local_copy: str | None = None
    sha256: str | None = None
    format: DataFormat | None = None
    download: DownloadKind = "none"
    url: str | None = None
    filename: str | None = None
    note: str | None = None
    #: the Lean / Mathlib the statements were written for (``v4.9.0``); ``None``: not known
    lean_version: str | None = None
    mathlib_version: str | None = None

    def version_warning(self, lean: str | None) -> str | None:
        """One sentence when this benchmark was written for another Lean than ``lean`` (e.g. the pinned one).

        Statements of another Lean/Mathlib era may not elaborate, or mean something else, after renames.
        """
        if not self.lean_version or not lean or lean in ("unknown",):
            return None
        if _plain_version(self.lean_version) == _plain_version(lean):
            return None
        mathlib = f", Mathlib {self.mathlib_version}" if self.mathlib_version else ""
        return (
            f"benchmark {self.name!r} was written for Lean {self.lean_version}{mathlib}, not the Lean {lean} "
            "used here: some statements may not elaborate or may use renamed lemmas"
        )

    @property
    def cache_filename(self) -> str:
        """The file name inside the cache folder of this entry."""
        if self.filename:
            return self.filename
        if self.local_copy:
            return Path(self.local_copy).name
        return f"{self.name}.data"


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int
    entries: list[ManifestEntry]

    def get(self, name: str) -> ManifestEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.entries)
        raise ManifestError(f"no dataset named {name!r} in the manifest; known: {known}")


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate the manifest; every problem is one line naming the file and the field."""
    path = Path(path) if path else DEFAULT_MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON: {exc}") from exc
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"{path}: invalid manifest at {where}: {first['msg']}") from exc
    names = [e.name for e in manifest.entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ManifestError(f"{path}: duplicate entry names: {', '.join(duplicates)}")
    return manifest


def cached_path(entry: ManifestEntry, root: Path | None = None) -> Path:
    """Where ``prover data fetch`` puts ``entry`` (whether or not it is there yet)."""
    return (root or cache_root()) / "data" / entry.name / entry.cache_filename


def _plain_version(version: str) -> str:
    """``leanprover/lean4:v4.24.0`` and ``4.24.0`` compare equal."""
    return version.split(":")[-1].strip().lstrip("v")


def benchmark_lean_version(benchmark_cfg: Any) -> str | None:
    """The Lean release a benchmark is written for: its manifest entry's ``lean_version`` (also for a local copy
    given with ``benchmark.path``), or None (not in the manifest, or no release recorded)."""
    name = benchmark_cfg.get("name") if hasattr(benchmark_cfg, "get") else None
    if not name:
        return None
    try:
        return load_manifest().get(str(name)).lean_version
    except ManifestError:
        return None


_WARNED: set[str] = set()


def warn_version_mismatch(entry: ManifestEntry, lean: str | None = None) -> str | None:
    """Log :meth:`ManifestEntry.version_warning` against ``lean`` (default: the pinned ``lean-toolchain``),
    once per benchmark per process; returns the sentence (also when already logged)."""
    if lean is None:
        from prover.evaluation.versions import pinned_versions

        lean = pinned_versions().get("lean")
    message = entry.version_warning(lean)
    if message and entry.name not in _WARNED:
        _WARNED.add(entry.name)
        log.warning("%s", message)
    return message
