"""Typed settings of ``configs/retriever/*.yaml``: defaults written once, unknown keys rejected by name.

One model per retriever kind, chosen by ``name`` (``dense`` | ``bm25``), so a dense-only key such as
``index_type`` in a BM25 config is reported instead of silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PositiveInt

from prover.settings import Settings, load_one_of

#: States longer than this are cut before encoding: the encoder reads at most ``max_length`` tokens anyway,
#: and tokenizing a megabyte of text just to throw it away costs seconds.
DEFAULT_MAX_STATE_CHARS = 16_384


class RetrieverSettings(Settings):
    """Keys every retriever accepts."""

    name: str
    #: Directory written by ``prover index build`` (required to retrieve).
    index_path: str | None = None
    k: PositiveInt = 10
    #: States are cut here before encoding / tokenizing.
    max_state_chars: PositiveInt = DEFAULT_MAX_STATE_CHARS


class BM25RetrieverSettings(RetrieverSettings):
    name: Literal["bm25"] = "bm25"


class DenseRetrieverSettings(RetrieverSettings):
    name: Literal["dense"] = "dense"
    encoder: str = "minilm"
    device: str = "cpu"
    index_type: Literal["flat", "ivf", "hnsw"] = "flat"
    #: Encoder batch when indexing.
    batch_size: PositiveInt = 64
    #: IVF clusters (``None``: about 4·√n) and clusters probed per query.
    nlist: PositiveInt | None = None
    nprobe: PositiveInt = 16
    #: HNSW degree, build beam and search beam.
    hnsw_m: PositiveInt = 32
    ef_construction: PositiveInt = 80
    ef_search: PositiveInt = 128


RETRIEVER_SETTINGS: dict[str, type[RetrieverSettings]] = {
    "dense": DenseRetrieverSettings,
    "bm25": BM25RetrieverSettings,
}


def retriever_settings(cfg: Any) -> RetrieverSettings:
    """The typed settings of a ``cfg.retriever`` node or dict, chosen by its ``name`` (a discriminated union)."""
    return load_one_of(RETRIEVER_SETTINGS, cfg, "retriever")
