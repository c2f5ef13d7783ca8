"""MiniLM + faiss for real on a small corpus: index directories, retrievers, filtering, bad input, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from prover.cli.main import main
from prover.retrieval.corpus import Corpus, Premise, SourceFile, write_corpus
from prover.retrieval.encoder import EncoderError, load_encoder
from prover.retrieval.errors import RetrievalError
from prover.retrieval.index import (
    CORPUS,
    META,
    FaissParams,
    PremiseIndex,
    PremiseIndexError,
    build_bm25_index,
    build_dense_index,
    build_faiss,
    search_faiss,
)
from prover.retrieval.retriever import BM25Retriever, DenseRetriever, load_retriever, make_retriever

STATEMENTS = {
    "mul_comm": "theorem mul_comm (a b : G) : a * b = b * a",
    "add_comm": "theorem add_comm (a b : G) : a + b = b + a",
    "le_refl": "theorem le_refl (a : α) : a ≤ a",
    "le_trans": "theorem le_trans (h₁ : a ≤ b) (h₂ : b ≤ c) : a ≤ c",
    "Nat.prime_two": "theorem Nat.prime_two : Nat.Prime 2",
    "Finset.sum_range_succ": "theorem Finset.sum_range_succ (f : ℕ → M) (n : ℕ) : "
    "∑ x ∈ range (n + 1), f x = ∑ x ∈ range n, f x + f n",
    "Real.sqrt_nonneg": "theorem Real.sqrt_nonneg (x : ℝ) : 0 ≤ √x",
    "abs_nonneg": "theorem abs_nonneg (a : α) : 0 ≤ |a|",
    "Nat.dvd_refl": "theorem Nat.dvd_refl (a : ℕ) : a ∣ a",
    "List.length_append": "theorem List.length_append (as bs : List α) : (as ++ bs).length = as.length + bs.length",
}


def _corpus() -> Corpus:
    premises = [
        Premise(
            name,
            code,
            path="Mathlib/A.lean" if i < 5 else "Mathlib/B.lean",
            end=(10 * i + 5, 0),
            kind="theorem",
        )
        for i, (name, code) in enumerate(STATEMENTS.items())
    ]
    files = {
        "Mathlib/A.lean": SourceFile("Mathlib/A.lean", "Mathlib.A"),
        "Mathlib/B.lean": SourceFile("Mathlib/B.lean", "Mathlib.B", ("Mathlib/A.lean",)),
    }
    return Corpus(premises, files)


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("minilm")


@pytest.fixture(scope="module")
def flat_dir(tmp_path_factory: pytest.TempPathFactory, encoder) -> Path:
    return build_dense_index(_corpus(), encoder).save(tmp_path_factory.mktemp("idx") / "flat")


def test_encoder_gives_unit_vectors_and_meaningful_similarity(encoder) -> None:
    vectors = encoder.encode(["a * b = b * a", "theorem mul_comm : a * b = b * a", "the sky is blue today"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_dense_retrieval_ranks_the_matching_premise_first(flat_dir: Path) -> None:
    retriever = load_retriever(flat_dir)
    assert isinstance(retriever, DenseRetriever)
    hits = retriever.retrieve("x y : ℕ\n⊢ x * y = y * x", k=3)
    assert hits[0][0].full_name == "mul_comm"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    batch = retriever.retrieve_batch(["⊢ Nat.Prime 2", "x : ℝ\n⊢ 0 ≤ √x"], k=2)
    assert [b[0][0].full_name for b in batch] == ["Nat.prime_two", "Real.sqrt_nonneg"]
    single = retriever.retrieve("⊢ Nat.Prime 2", k=2)  # padding in a batch changes floats slightly
    assert [p for p, _ in batch[0]] == [p for p, _ in single]
    assert [s for _, s in batch[0]] == pytest.approx([s for _, s in single], abs=1e-4)


def test_accessible_filter_is_applied_inside_the_search(flat_dir: Path) -> None:
    retriever = load_retriever(flat_dir)
    allowed = {"abs_nonneg", "le_refl", "not_in_corpus"}
    hits = retriever.retrieve("x y : ℕ\n⊢ x * y = y * x", k=5, accessible=allowed)
    assert {p.full_name for p, _ in hits} == {
        "abs_nonneg",
        "le_refl",
    }  # exactly the allowed ones, k not reached
    assert retriever.retrieve("⊢ a * b = b * a", k=3, accessible=set()) == []
    as_list = retriever.retrieve_batch(["⊢ a * b = b * a"], k=5, accessible=["le_refl"])
    assert [p.full_name for p, _ in as_list[0]] == ["le_refl"]
    mixed = retriever.retrieve_batch(
        ["⊢ a * b = b * a", "⊢ a * b = b * a"], k=1, accessible=[None, {"le_refl"}]
    )
    assert mixed[0][0][0].full_name == "mul_comm" and mixed[1][0][0].full_name == "le_refl"


def test_bad_states_and_k_are_clear_errors_and_huge_states_are_truncated(flat_dir: Path) -> None:
    retriever = load_retriever(flat_dir)
    with pytest.raises(RetrievalError, match="state #0 is empty"):
        retriever.retrieve("  \n", k=3)
    with pytest.raises(RetrievalError, match="k must be a positive integer"):
        retriever.retrieve("⊢ True", k=0)
    with pytest.raises(RetrievalError, match="not one string"):
        retriever.retrieve_batch("⊢ True", k=1)
    with pytest.raises(RetrievalError, match="2 accessible sets for 1 states"):
        retriever.retrieve_batch(["⊢ True"], k=1, accessible=[None, None])
    huge = "x y : ℕ\n⊢ x * y = y * x" + " ∧ True" * 150_000  # ~1 MB
    assert len(huge.encode()) > 1_000_000
    hits = retriever.retrieve(huge, k=2)
    assert [p for p, _ in hits] == [p for p, _ in retriever.retrieve(huge[: retriever.max_state_chars], k=2)]


def test_index_directory_refuses_mismatched_pairs(flat_dir: Path, tmp_path: Path, encoder) -> None:
    import shutil

    index = PremiseIndex.load(flat_dir, encoder="minilm")
    assert index.meta.count == len(STATEMENTS) == index.faiss_index.ntotal and index.meta.dim == 384
    with pytest.raises(PremiseIndexError, match="built with encoder 'minilm'"):
        PremiseIndex.load(flat_dir, encoder="other-model")
    tampered = tmp_path / "tampered"
    shutil.copytree(flat_dir, tampered)
    corpus = _corpus()
    corpus.premises.pop()
    write_corpus(corpus, tampered / CORPUS)  # a different corpus beside the old vectors
    with pytest.raises(PremiseIndexError, match="does not match the corpus"):
        PremiseIndex.load(tampered)
    meta = json.loads((tampered / META).read_text())
    meta["corpus_sha256"] = __import__("prover.retrieval.corpus", fromlist=["x"]).file_sha256(
        tampered / CORPUS
    )
    meta["count"] = len(corpus)
    (tampered / META).write_text(json.dumps(meta))
    with pytest.raises(PremiseIndexError, match="holds 10 vectors"):
        PremiseIndex.load(tampered)
    with pytest.raises(PremiseIndexError, match="not an index directory"):
        PremiseIndex.load(tmp_path)


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="does not exist or has no config.json"):
        load_encoder(str(tmp_path / "no-model"))


@pytest.mark.parametrize("index_type", ["ivf", "hnsw"])
def test_approximate_indexes_agree_with_exact_search(index_type: str) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 32))
    vectors = centres[rng.integers(0, 20, 2000)] + 0.3 * rng.normal(size=(2000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    queries = vectors[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    _, exact = search_faiss(build_faiss(vectors, "flat"), queries, 10)
    approx_index = build_faiss(vectors, index_type, FaissParams(nlist=32, nprobe=8))
    _, approx = search_faiss(approx_index, queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.8
    allowed = np.arange(0, 2000, 7)
    _, filtered = search_faiss(approx_index, queries, 10, allowed)
    assert set(filtered[filtered >= 0].tolist()) <= set(allowed.tolist())


def test_ivf_on_a_tiny_corpus_uses_fewer_clusters(encoder, tmp_path: Path, flat_dir: Path) -> None:
    index = build_dense_index(_corpus(), encoder, "ivf", FaissParams(nlist=100))
    assert index.meta.params["nlist"] == 1  # one cluster: IVF is exact here
    ivf = load_retriever(index.save(tmp_path / "ivf"))
    exact = load_retriever(flat_dir)
    for state in ["⊢ Nat.Prime 2", "⊢ a ≤ a", "h : a ≤ b\n⊢ a ≤ c"]:
        assert [p for p, _ in ivf.retrieve(state, k=4)] == [p for p, _ in exact.retrieve(state, k=4)]


def test_bm25_index_and_make_retriever_from_config(tmp_path: Path, flat_dir: Path) -> None:
    out = build_bm25_index(_corpus()).save(tmp_path / "bm25")
    retriever = make_retriever({"name": "bm25", "index_path": str(out)})
    assert isinstance(retriever, BM25Retriever)
    assert retriever.retrieve("⊢ (l₁ ++ l₂).length = l₁.length + l₂.length", k=1)[0][0].full_name == (
        "List.length_append"
    )
    assert [p.full_name for p, _ in retriever.retrieve("⊢ a ≤ a", k=5, accessible={"le_trans"})] == [
        "le_trans"
    ]
    with pytest.raises(RetrievalError, match="is a bm25 index"):
        make_retriever({"name": "dense", "index_path": str(out)})
    with pytest.raises(RetrievalError, match="index_path is not set"):
        make_retriever({"name": "dense", "index_path": None})
    assert isinstance(make_retriever({"name": "dense", "index_path": str(flat_dir)}), DenseRetriever)


def test_empty_corpus_cannot_be_indexed(encoder) -> None:
    with pytest.raises(PremiseIndexError, match="no premises"):
        build_dense_index(Corpus(), encoder)


# --- CLI ----------------------------------------------------------------------------------------------
def test_cli_build_info_and_retrieve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus_path = tmp_path / "corpus.jsonl"
    write_corpus(_corpus(), corpus_path)
    out = tmp_path / "idx"
    assert (
        main(["index", "build", "--corpus", str(corpus_path), "--out", str(out), "retriever.index_type=hnsw"])
        == 0
    )
    built = json.loads(capsys.readouterr().out)
    assert built["index_type"] == "hnsw" and built["count"] == len(STATEMENTS)
    assert main(["index", "info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == 2
    assert main(["retrieve", "--index", str(out), "--state", "⊢ Nat.Prime 2", "-k", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["full_name"] == "Nat.prime_two"
    # accessible from Mathlib/B.lean line 60: A's premises plus B's ending at or before line 60
    assert (
        main(
            [
                "retrieve",
                "--index",
                str(out),
                "--state",
                "⊢ a ∣ a",
                "-k",
                "20",
                "--from-file",
                "Mathlib/B.lean",
                "--at",
                "60:0",
            ]
        )
        == 0
    )
    names = {json.loads(line)["full_name"] for line in capsys.readouterr().out.splitlines()}
    assert names == set(list(STATEMENTS)[:6])


def test_cli_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"full_name": "a"}\n\xff\xfe\n')
    assert main(["index", "build", "--corpus", str(bad), "--out", str(tmp_path / "o"), "retriever=bm25"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2: not UTF-8" in err and "Traceback" not in err
    assert (
        main(
            [
                "index",
                "build",
                "--corpus",
                str(bad),
                "--out",
                str(tmp_path / "o"),
                "retriever=bm25",
                "--skip-bad-utf8",
            ]
        )
        == 0
    )
    assert "skipped" in capsys.readouterr().err
    assert main(["retrieve", "--index", str(tmp_path / "missing"), "--state", "⊢ True"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["retrieve", "--index", str(tmp_path / "o"), "--state", ""]) == 2
    assert "empty" in capsys.readouterr().err
    assert (
        main(
            [
                "index",
                "build",
                "--corpus",
                str(bad),
                "--out",
                str(tmp_path / "p"),
                "--skip-bad-utf8",
                f"retriever.encoder={tmp_path / 'no-model'}",
            ]
        )
        == 2
    )
    assert "no config.json" in capsys.readouterr().err
