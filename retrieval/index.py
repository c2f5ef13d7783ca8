"""Premise indexes saved as one directory, so an index can never be paired with the wrong corpus.

Layout of an index directory::

    meta.json      {"format": 1, "kind": "dense"|"bm25", "encoder", "dim", "index_type", "count",
                    "corpus_sha256", "params"}
    corpus.jsonl   the premises, row i = vector i (retrieval.corpus format)
    index.faiss    dense only: the faiss index

Loading re-hashes ``corpus.jsonl`` and checks count and dimension against the faiss index; any mismatch is
an :class:`PremiseIndexError`. Dense indexes use inner product on unit vectors (cosine): ``flat`` is exact,
``ivf`` (IVFFlat) and ``hnsw`` (HNSWFlat) trade recall for speed on large corpora (bench/README.md).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prover.files import file_sha256
from prover.retrieval.corpus import Corpus, read_corpus, write_corpus
from prover.retrieval.errors import RetrievalError
from prover.retrieval.settings import DenseRetrieverSettings, RetrieverSettings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
INDEX_TYPES = ("flat", "ivf", "hnsw")
META, CORPUS, FAISS = "meta.json", "corpus.jsonl", "index.faiss"


class PremiseIndexError(RetrievalError):
    """An index directory that is missing, inconsistent, or built for something else."""


@dataclass
class IndexMeta:
    kind: str
    count: int
    corpus_sha256: str
    encoder: str = ""
    dim: int = 0
    index_type: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @classmethod
    def read(cls, directory: Path) -> IndexMeta:
        path = directory / META
        if not path.is_file():
            raise PremiseIndexError(f"{directory} is not an index directory (no {META})")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            meta = cls(**raw)
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
            raise PremiseIndexError(f"{path}: unreadable index metadata: {exc}") from exc
        if meta.format != FORMAT_VERSION:
            raise PremiseIndexError(
                f"{path}: index format {meta.format}, this version reads {FORMAT_VERSION}"
            )
        if meta.kind not in ("dense", "bm25"):
            raise PremiseIndexError(f"{path}: unknown index kind {meta.kind!r}")
        return meta

    def write(self, directory: Path) -> None:
        (directory / META).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


# --- faiss ----------------------------------------------------------------------------------------
_DENSE = DenseRetrieverSettings()


@dataclass(frozen=True)
class FaissParams:
    """Index construction/search knobs; ``None`` picks a size-dependent default.

    The defaults are those of ``DenseRetrieverSettings`` (configs/retriever/dense.yaml), written once there.
    """

    nlist: int | None = _DENSE.nlist  # ivf: number of clusters (None: ~4*sqrt(n))
    nprobe: int = _DENSE.nprobe  # ivf: clusters visited per query
    hnsw_m: int = _DENSE.hnsw_m  # hnsw: graph degree
    ef_construction: int = _DENSE.ef_construction
    ef_search: int = _DENSE.ef_search

    @classmethod
    def from_settings(cls, settings: DenseRetrieverSettings) -> FaissParams:
        return cls(
            nlist=settings.nlist,
            nprobe=settings.nprobe,
            hnsw_m=settings.hnsw_m,
            ef_construction=settings.ef_construction,
            ef_search=settings.ef_search,
        )


def build_faiss(vectors: np.ndarray, index_type: str = "flat", params: FaissParams | None = None) -> Any:
    """A faiss inner-product index holding ``vectors`` (rows must be L2-normalised float32)."""
    import faiss

    params = params or FaissParams()
    if index_type not in INDEX_TYPES:
        raise PremiseIndexError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise PremiseIndexError(f"expected a (n, dim) matrix of vectors, got shape {vectors.shape}")
    n, dim = vectors.shape
    index: Any  # faiss's bundled stubs type each class apart; the three kinds share one duck-typed API
    if index_type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        index.hnsw.efSearch = params.ef_search
    else:
        # faiss wants >= 39 training points per centroid; small corpora get fewer clusters.
        wanted = params.nlist or max(1, int(4 * math.sqrt(max(n, 1))))
        nlist = max(1, min(wanted, n // 39 if n >= 39 else 1))
        if nlist != wanted:
            log.info("ivf: %d vectors support %d clusters, not %d", n, nlist, wanted)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if n:
            index.train(vectors)
        index.nprobe = min(params.nprobe, nlist)
    if n:
        index.add(vectors)
    return index


def search_faiss(
    index: Any, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, rows)`` of shape ``(len(queries), k)``; rows ``-1`` pad missing results.

    ``allowed`` (sorted row ids) restricts the search inside faiss with an ``IDSelectorBatch``, so the k
    results are the best *allowed* rows, not the allowed survivors of an unfiltered top-k.
    """
    import faiss as faiss_module

    faiss: Any = (
        faiss_module  # its bundled stubs lack the SearchParameters* keyword fields and the HNSW class
    )
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = min(k, max(index.ntotal, 1))
    if allowed is None:
        return index.search(queries, k)
    if len(allowed) == 0:
        return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
    selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
    if isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    elif isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(index.hnsw.efSearch, k))
    else:
        params = faiss.SearchParameters(sel=selector)
    return index.search(queries, k, params=params)


# --- one directory, one corpus ---------------------------------------------------------------------
@dataclass
class PremiseIndex:
    """A corpus with its meta data and, when dense, its faiss index."""

    corpus: Corpus
    meta: IndexMeta
    faiss_index: Any = None

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.meta.corpus_sha256 = write_corpus(self.corpus, directory / CORPUS)
        if self.faiss_index is not None:
            import faiss

            faiss.write_index(self.faiss_index, str(directory / FAISS))
        self.meta.write(directory)  # last: a directory with meta.json is complete
        return directory

    @classmethod
    def load(cls, directory: str | Path, encoder: str | None = None) -> PremiseIndex:
        """Load and cross-check; ``encoder`` (if given) must be the one the index was built with."""
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise PremiseIndexError(
                f"{directory} is a file, not an index directory (build one with `prover index build --out DIR`)"
            )
        if not directory.is_dir():
            raise PremiseIndexError(f"index directory {directory} does not exist")
        meta = IndexMeta.read(directory)
        corpus_path = directory / CORPUS
        if not corpus_path.is_file():
            raise PremiseIndexError(f"{directory}: missing {CORPUS}")
        digest = file_sha256(corpus_path)
        if digest != meta.corpus_sha256:
            raise PremiseIndexError(
                f"{directory}: {CORPUS} does not match the corpus the index was built from "
                f"(sha256 {digest[:12]} != {meta.corpus_sha256[:12]})"
            )
        corpus = read_corpus(corpus_path)
        if len(corpus) != meta.count:
            raise PremiseIndexError(
                f"{directory}: corpus has {len(corpus)} premises, meta.json says {meta.count}"
            )
        if meta.kind == "bm25":
            return cls(corpus, meta)
        if encoder is not None and encoder != meta.encoder:
            raise PremiseIndexError(
                f"{directory}: built with encoder {meta.encoder!r}, asked to use {encoder!r}"
            )
        faiss_path = directory / FAISS
        if not faiss_path.is_file():
            raise PremiseIndexError(f"{directory}: dense index without {FAISS}")
        import faiss

        index = faiss.read_index(str(faiss_path))
        if index.ntotal != meta.count or index.d != meta.dim:
            raise PremiseIndexError(
                f"{directory}: {FAISS} holds {index.ntotal} vectors of dim {index.d}, "
                f"meta.json says {meta.count} of dim {meta.dim}"
            )
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = int(meta.params.get("nprobe", index.nprobe))
        elif isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = int(meta.params.get("ef_search", index.hnsw.efSearch))
        return cls(corpus, meta, index)


def build_dense_index(
    corpus: Corpus,
    encoder: Any,
    index_type: str = "flat",
    params: FaissParams | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> PremiseIndex:
    """Encode every premise's text with ``encoder`` (a ``retrieval.encoder.TextEncoder``) and index it."""
    params = params or FaissParams()
    if index_type not in INDEX_TYPES:
        raise PremiseIndexError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    if not len(corpus):
        raise PremiseIndexError("the corpus has no premises; nothing to index")
    texts = [p.text for p in corpus.premises]
    step = int(batch_size or getattr(encoder, "batch_size", 64) or 64)
    chunks: list[np.ndarray] = []
    starts = range(0, len(texts), step * 16)
    blocks: Iterable[int] = starts
    if progress:  # the project's own progress lines (quiet with --no-progress), never a library bar
        from prover.progress import track

        blocks = track(starts, len(starts), "index", f"blocks of {step * 16} premises encoded")
    for start in blocks:
        chunks.append(encoder.encode(texts[start : start + step * 16], batch_size=step))
    vectors = np.concatenate(chunks)
    meta = IndexMeta(
        kind="dense",
        count=len(corpus),
        corpus_sha256="",
        encoder=encoder.name,
        dim=int(encoder.dim),
        index_type=index_type,
        params=_relevant_params(params, index_type),
    )
    index = build_faiss(vectors, index_type, params)
    if index_type == "ivf":
        meta.params["nlist"] = int(index.nlist)
    return PremiseIndex(corpus, meta, index)


def _relevant_params(params: FaissParams, index_type: str) -> dict[str, Any]:
    keys = {"flat": (), "ivf": ("nlist", "nprobe"), "hnsw": ("hnsw_m", "ef_construction", "ef_search")}[
        index_type
    ]
    return {k: v for k, v in asdict(params).items() if k in keys and v is not None}


def build_bm25_index(corpus: Corpus) -> PremiseIndex:
    """A BM25 index needs only its corpus on disk; the postings are rebuilt when it is loaded."""
    if not len(corpus):
        raise PremiseIndexError("the corpus has no premises; nothing to index")
    return PremiseIndex(
        corpus, IndexMeta(kind="bm25", count=len(corpus), corpus_sha256="", index_type="bm25")
    )


def build_index(corpus: Corpus, settings: RetrieverSettings, progress: bool = False) -> PremiseIndex:
    """The index ``settings`` (``prover.retrieval.settings.retriever_settings(cfg.retriever)``) describe.

    BM25 needs nothing but the corpus; dense loads the configured encoder and builds the configured faiss
    index. Save it with :meth:`PremiseIndex.save`.
    """
    if not isinstance(settings, DenseRetrieverSettings):
        return build_bm25_index(corpus)
    from prover.retrieval.encoder import load_encoder

    encoder = load_encoder(settings.encoder, device=settings.device)
    return build_dense_index(
        corpus,
        encoder,
        settings.index_type,
        FaissParams.from_settings(settings),
        batch_size=settings.batch_size,
        progress=progress,
    )
