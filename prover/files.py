"""Small helpers on files that several layers need, written once.

``file_sha256`` identifies a file by content: a premise index records its corpus's digest and re-checks it on
load, the kNN generator keys its embedding cache by it, and fetched benchmarks are checked against the
manifest's. Files can be large (a Mathlib premise corpus is hundreds of MB), so they are read in blocks.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_BLOCK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of the file's bytes as a hex digest, read in 1 MiB blocks (constant memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    """``$PROVER_CACHE`` or ``~/.cache/lean-prover``: where fetched data lives (one folder per entry), for the
    evaluation layer's fetch and for generation's released demonstrations alike."""
    env = os.environ.get("PROVER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lean-prover"


def nearest_existing(path: Path) -> Path:
    """``path`` itself, or its closest ancestor that exists: where a folder that is to be created would go, so
    that "can this be written?" is asked of something real."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
