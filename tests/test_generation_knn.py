"""Offline generation: corpus loading, goal reading, name adaptation, automation portfolio, kNN blending."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from prover.generation import knn as knn_module
from prover.generation.base import GenerationRequest, requests_from_texts
from prover.generation.corpus import TacticCorpusError, load_corpus
from prover.generation.goals import parse_goal, parse_state, rename_identifiers
from prover.generation.inputs import GenerationInputError
from prover.generation.knn import KnnTacticGenerator, adapt_tactic
from prover.generation.portfolio import AutomationPortfolio, learn_priors
from prover.retrieval.corpus import Corpus, Premise
from prover.retrieval.retriever import Hit, Retriever


class TrigramEncoder:
    """Deterministic stand-in for MiniLM: hashed character trigrams, L2-normalised."""

    dim = 256
    calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        TrigramEncoder.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for j in range(len(t) - 2):
                out[i, zlib.crc32(t[j : j + 3].encode()) % self.dim] += 1.0  # hash() is salted per process
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _step(source: str, goals: list[str], tactic: str, goal_id: int = 0) -> dict[str, object]:
    return {"source": source, "step": 0, "goals": goals, "goal_id": goal_id, "tactic": tactic}


CORPUS = [
    _step("p1", ["x y : ℝ\nh₀ : x + y = 10\n⊢ x * y ≤ 25"], "nlinarith [sq_nonneg (x - y), h₀]"),
    _step("p2", ["n : ℕ\nh₀ : n % 4 = 3\n⊢ n ^ 2 % 4 = 1"], "rw [Nat.pow_mod, h₀]"),
    _step("p3", ["f : ℝ → ℝ\nh₀ : ∀ (x : ℝ), f x = 3 * x + 2\n⊢ f 4 = 14"], "rw [h₀]"),
    _step("p4", ["⊢ 2 ^ 10 % 7 = 2"], "norm_num"),
]


@pytest.fixture()
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "tactics.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CORPUS), encoding="utf-8")
    return path


def test_parse_goal_reads_hypotheses_cases_and_continuations() -> None:
    goals = parse_state(
        "case h\nx y : ℝ\nh₀ : 0 < x\nh₁ : x + y = 10 ∧\n  y > 2\n⊢ x * y ≤ 25\n\nn : ℕ\n⊢ n % 2 = 0"
    )
    assert len(goals) == 2
    g = goals[0]
    assert g.case == "h" and g.target == "x * y ≤ 25"
    assert g.names() == ["x", "y", "h₀", "h₁"]
    assert g.hypotheses[3].type == "x + y = 10 ∧ y > 2"
    assert [h.is_variable for h in g.hypotheses] == [True, True, False, False]


def test_rename_identifiers_whole_names_only() -> None:
    out = rename_identifiers(
        "nlinarith [sq_nonneg (x - y), h₀, h₀.le, Nat.h₀, h₀', xy]", {"h₀": "ha", "x": "a", "y": "b"}
    )
    assert out == "nlinarith [sq_nonneg (a - b), ha, ha.le, Nat.h₀, h₀', xy]"


def test_adapt_tactic_maps_by_type_then_position() -> None:
    theirs = parse_goal("x y : ℝ\nh₀ : 0 < x\nh₁ : 0 < y\n⊢ x * y ≤ 1")
    ours = parse_goal("a b : ℝ\nhb : 0 < b\nha : 0 < a\n⊢ a * b ≤ 1")
    assert (
        adapt_tactic("nlinarith [sq_nonneg (x - y), h₀, h₁]", theirs, ours)
        == "nlinarith [sq_nonneg (a - b), ha, hb]"
    )
    # No counterpart: names stay as they are.
    assert adapt_tactic("exact h₀", theirs, parse_goal("⊢ True")) == "exact h₀"


def test_corpus_errors_name_the_line(tmp_path: Path) -> None:
    bad_utf8 = tmp_path / "bad.jsonl"
    bad_utf8.write_bytes(
        json.dumps(CORPUS[0]).encode() + b"\n" + b'{"goals": ["\xff\xfe"], "tactic": "simp"}\n'
    )
    with pytest.raises(TacticCorpusError, match=r"bad.jsonl:2: not UTF-8"):
        load_corpus(bad_utf8)
    bad_json = tmp_path / "j.jsonl"
    bad_json.write_text('{"goals": ["⊢ True"], "tactic": "trivial"}\n{oops\n', encoding="utf-8")
    with pytest.raises(TacticCorpusError, match=r"j.jsonl:2: not JSON"):
        load_corpus(bad_json)
    no_goals = tmp_path / "g.jsonl"
    no_goals.write_text('{"goals": [], "tactic": "simp"}\n', encoding="utf-8")
    with pytest.raises(TacticCorpusError, match="goals"):
        load_corpus(no_goals)
    with pytest.raises(TacticCorpusError, match="does not exist"):
        load_corpus(tmp_path / "missing.jsonl")


def test_portfolio_follows_goal_shape() -> None:
    port = AutomationPortfolio()
    real_ineq = [
        s.tactic
        for s in port.generate(requests_from_texts(["x y : ℝ\nh : 0 < x\n⊢ x * y ≤ x ^ 2 + y ^ 2"]), 4)[0]
    ]
    nat_mod = [
        s.tactic for s in port.generate(requests_from_texts(["n : ℕ\nh : n % 4 = 3\n⊢ n ^ 2 % 4 = 1"]), 4)[0]
    ]
    assert "nlinarith" in real_ineq and "omega" not in real_ineq
    assert "omega" in nat_mod and "nlinarith" not in nat_mod
    everything = port.scored(GenerationRequest.from_text("x y : ℝ\nh : 0 < x\n⊢ x * y ≤ x ^ 2 + y ^ 2"))
    assert math.isclose(sum(math.exp(s.logprob) for s in everything), 1.0, rel_tol=1e-6)
    tactics = {s.tactic for s in everything}
    assert "nlinarith [sq_nonneg (x - y), sq_nonneg (x + y)]" in tactics and "linarith [h]" in tactics


def test_learned_priors_follow_corpus_frequencies() -> None:
    priors = learn_priors(["omega"] * 30 + ["simp"] * 2)
    assert priors["omega"] > priors["simp"] > 0
    assert math.isclose(sum(priors.values()), 1.0)


def test_knn_proposes_adapted_neighbour_tactics_first(corpus_file: Path) -> None:
    gen = KnnTacticGenerator(load_corpus(corpus_file), TrigramEncoder(), portfolio_weight=0.3)
    out = gen.generate(
        requests_from_texts(["a b : ℝ\nhab : a + b = 10\n⊢ a * b ≤ 25", "⊢ 2 ^ 10 % 7 = 2"]), 5
    )
    assert out[0][0].tactic == "nlinarith [sq_nonneg (a - b), hab]"
    assert out[1][0].tactic == "norm_num"
    for sugg in out:
        assert len(sugg) == 5
        assert [s.logprob for s in sugg] == sorted((s.logprob for s in sugg), reverse=True)
        assert sum(math.exp(s.logprob) for s in sugg) <= 1.0 + 1e-9
    # Automation fills in beyond the neighbours.
    assert {"nlinarith", "linarith"} & {s.tactic for s in out[0]}


def test_knn_without_portfolio_is_pure_neighbour_votes(corpus_file: Path) -> None:
    gen = KnnTacticGenerator(
        load_corpus(corpus_file), TrigramEncoder(), portfolio_weight=0.0, learn_mix=False
    )
    sugg = gen.generate(requests_from_texts(["g : ℝ → ℝ\nh : ∀ (x : ℝ), g x = 3 * x + 2\n⊢ g 4 = 14"]), 10)[0]
    assert sugg[0].tactic == "rw [h]"
    assert len(sugg) <= len(CORPUS)


def test_knn_cache_is_written_and_reused(
    corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prover.retrieval.encoder

    monkeypatch.setattr(prover.retrieval.encoder, "load_encoder", lambda name, device="cpu": TrigramEncoder())
    cache_dir = tmp_path / "xdg" / "lean-prover" / "knn"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    TrigramEncoder.calls = 0
    KnnTacticGenerator.from_corpus(corpus_file, encoder="fake")
    caches = list(cache_dir.glob("*.npy"))
    assert len(caches) == 1 and "fake" in caches[0].name
    first_calls = TrigramEncoder.calls
    gen = KnnTacticGenerator.from_corpus(corpus_file, encoder="fake")
    assert TrigramEncoder.calls == first_calls  # corpus not re-embedded
    assert gen.generate(requests_from_texts(["⊢ 2 ^ 10 % 7 = 2"]), 1)[0][0].tactic == "norm_num"
    # Changing the corpus changes the checksum: a new cache entry.
    corpus_file.write_text(
        corpus_file.read_text(encoding="utf-8") + json.dumps(CORPUS[0]) + "\n", encoding="utf-8"
    )
    KnnTacticGenerator.from_corpus(corpus_file, encoder="fake")
    assert len(list(cache_dir.glob("*.npy"))) == 2
    assert knn_module._cache_path(corpus_file, "x/y", "ab" * 10, cache_dir="/tmp/c").parent == Path("/tmp/c")


def test_knn_cache_is_not_reused_after_the_encoder_is_retrained_in_place(
    corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model retrained into the same directory must not reuse embeddings of the old weights."""
    import os

    import prover.retrieval.encoder

    model = tmp_path / "encoder"
    model.mkdir()
    (model / "config.json").write_text("{}")
    weights = model / "model.safetensors"
    weights.write_bytes(b"old weights")
    monkeypatch.setattr(prover.retrieval.encoder, "load_encoder", lambda name, device="cpu": TrigramEncoder())
    cache_dir = tmp_path / "cache"
    KnnTacticGenerator.from_corpus(corpus_file, encoder=str(model), cache_dir=cache_dir)
    TrigramEncoder.calls = 0
    KnnTacticGenerator.from_corpus(corpus_file, encoder=str(model), cache_dir=cache_dir)
    assert TrigramEncoder.calls == 0  # same weights: the cache is used
    before = knn_module.encoder_fingerprint(str(model))
    weights.write_bytes(b"new weights, retrained")
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert knn_module.encoder_fingerprint(str(model)) != before
    KnnTacticGenerator.from_corpus(corpus_file, encoder=str(model), cache_dir=cache_dir)
    assert TrigramEncoder.calls > 0  # re-embedded with the new weights
    assert len(list(cache_dir.glob("*.npy"))) == 2


def test_knn_bad_input(corpus_file: Path) -> None:
    gen = KnnTacticGenerator(load_corpus(corpus_file), TrigramEncoder())
    with pytest.raises(GenerationInputError, match="empty"):
        gen.generate(requests_from_texts([""]), 3)
    with pytest.raises(GenerationInputError, match="over the limit"):
        gen.generate(requests_from_texts(["⊢ " + "a" * (1 << 20)]), 3)
    with pytest.raises(GenerationInputError, match="positive"):
        gen.generate(requests_from_texts(["⊢ True"]), 0)
    with pytest.raises(ValueError, match="portfolio_weight"):
        KnnTacticGenerator(load_corpus(corpus_file), TrigramEncoder(), portfolio_weight=2.0)


@pytest.mark.slow
def test_shipped_sample_corpus_with_minilm(repo_root: Path, tmp_path: Path) -> None:
    gen = KnnTacticGenerator.from_corpus(repo_root / "datasets/samples/tactics.jsonl", cache_dir=tmp_path)
    sugg = gen.generate(
        requests_from_texts(["c d : ℝ\nhc : 0 < c\nhd : 0 < d\n⊢ 2 * c * d ≤ c ^ 2 + d ^ 2"]), 8
    )[0]
    assert "nlinarith [sq_nonneg (c - d)]" in [s.tactic for s in sugg[:3]]


class _FixedRetriever(Retriever):
    """A retriever over a two-premise corpus that ranks them in a fixed order (scores as a real one returns)."""

    def __init__(self) -> None:
        super().__init__(Corpus([Premise("Nat.pow_mod"), Premise("Nat.add_mul_mod_self_left")]))
        self.states: list[str] = []

    def _retrieve(self, states: list[str], k: int, allowed: list[np.ndarray | None]) -> list[list[Hit]]:
        self.states += states
        return [self._hits([0.9, 0.4], [0, 1])[:k] for _ in states]


def test_knn_with_a_retriever_puts_premise_names_in_hint_lists(corpus_file: Path) -> None:
    """The retriever returns (premise, score) pairs; the hints must carry the premises' NAMES (once, their
    reprs reached the hint filter, which dropped them all)."""
    retriever = _FixedRetriever()
    state = "n : ℕ\nh₀ : n % 4 = 3\n⊢ n ^ 2 % 4 = 1"
    with_premises = KnnTacticGenerator(
        load_corpus(corpus_file), TrigramEncoder(), retriever=retriever, num_premises=2
    ).generate(requests_from_texts([state]), 64)[0]
    without = KnnTacticGenerator(load_corpus(corpus_file), TrigramEncoder()).generate(
        requests_from_texts([state]), 64
    )[0]
    assert retriever.states == [state]
    tactics = {s.tactic for s in with_premises}
    assert "rw [Nat.pow_mod]" in tactics
    assert "simp [Nat.pow_mod, Nat.add_mul_mod_self_left]" in tactics
    assert not any("Premise(" in t or "0.9" in t for t in tactics)
    assert not any("Nat.add_mul_mod_self_left" in s.tactic for s in without)


def test_the_first_corpus_embedding_says_what_it_does_and_no_progress_silences_it(
    corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first embedding of a corpus takes minutes on a large one: it announces itself and counts blocks on
    stderr (without ``-v``); a cached corpus says nothing; ``--no-progress`` (``set_enabled(False)``) quiets it."""
    import prover.retrieval.encoder
    from prover import progress

    monkeypatch.setattr(prover.retrieval.encoder, "load_encoder", lambda name, device="cpu": TrigramEncoder())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(knn_module, "_EMBED_BLOCK", 2)
    monkeypatch.setitem(
        progress._STATE, "enabled", True
    )  # an earlier `--no-progress` run may have left it off
    steps = len(load_corpus(corpus_file))
    first = KnnTacticGenerator.from_corpus(corpus_file, encoder="fake")
    out, err = capsys.readouterr()
    assert out == ""
    assert f"prover knn: embedding {steps} corpus steps of {corpus_file.name} with fake" in err
    blocks = -(-steps // 2)
    assert f"prover knn: {blocks}/{blocks} blocks of 2 corpus steps embedded" in err
    KnnTacticGenerator.from_corpus(corpus_file, encoder="fake")
    assert capsys.readouterr().err == ""  # cached: nothing to say
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    progress.set_enabled(False)
    again = KnnTacticGenerator.from_corpus(corpus_file, encoder="fake")
    assert capsys.readouterr().err == ""
    assert np.allclose(first._vectors, again._vectors)  # blocks join to the same matrix


def test_reserved_vote_slots_keep_a_strongly_voted_neighbour_tactic_in_the_top_k(corpus_file: Path) -> None:
    # The shape model carries 98 % of the mass, so its automation candidates outscore the neighbours' one
    # near-unanimous tactic; one reserved slot keeps that tactic in the top 4 without moving the first entry.
    request = requests_from_texts(["m : ℕ\nh : m % 4 = 3\n⊢ m ^ 2 % 4 = 1"])
    steps = load_corpus(corpus_file)

    def top4(slots: int) -> list[str]:
        gen = KnnTacticGenerator(
            steps, TrigramEncoder(), portfolio_weight=0.98, learn_mix=False, vote_slots=slots
        )
        out = gen.generate(request, 4)[0]
        assert [s.logprob for s in out] == sorted((s.logprob for s in out), reverse=True)
        return [s.tactic for s in out]

    plain, reserved = top4(0), top4(1)
    assert "rw [Nat.pow_mod, h]" not in plain
    assert "rw [Nat.pow_mod, h]" in reserved and len(reserved) == 4
    assert reserved[0] == plain[0] and reserved[:3] == plain[:3]  # only the last slot gave way
    with pytest.raises(ValueError, match="vote_slots"):
        KnnTacticGenerator(steps, TrigramEncoder(), vote_slots=-1)


def test_vote_slots_saved_with_the_mix_are_used_by_from_corpus(
    corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.generation.mix import save_mix

    model = tmp_path / "enc"
    model.mkdir()
    save_mix(model, {"*": 0.5}, vote_slots=3)
    monkeypatch.setattr("prover.retrieval.encoder.load_encoder", lambda *a, **k: TrigramEncoder())
    monkeypatch.setattr("prover.retrieval.encoder.resolve_model_path", lambda name: name)
    gen = KnnTacticGenerator.from_corpus(corpus_file, encoder=str(model), cache=False)
    assert gen.vote_slots == 3 and gen.mix_weights == {"*": 0.5}
    assert (
        KnnTacticGenerator.from_corpus(corpus_file, encoder=str(model), cache=False, vote_slots=1).vote_slots
        == 1
    )
