"""transformers generators and the model critic, on tiny locally-built models (no download)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import PAIRS, make_causal, make_classifier, make_seq2seq

from prover.generation.base import GenerationRequest, requests_from_texts
from prover.generation.critic import ModelCritic
from prover.generation.factory import make_generator
from prover.generation.hf import HFGenerationSettings, HFTacticGenerator, ModelLoadError
from prover.generation.inputs import GenerationInputError

STATES = [s for s, _ in PAIRS]
# The module fixture trains three tiny models on CPU: on a loaded machine that alone can pass the 300 s default.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        # Briefly trained so that decoding is not degenerate. What a few steps on one CPU make the model emit
        # varies by machine (150-250 steps gave "posivity" on some), so no test asserts an exact sample.
        "seq2seq": make_seq2seq(root / "s2s", train_steps=150, d_model=64),
        "causal": make_causal(root / "lm", train_steps=120),
        "critic": make_classifier(root / "critic"),
    }


def _gen(models: dict[str, Path], kind: str, decoding: str = "beam", **kw: object) -> HFTacticGenerator:
    template = "reprover" if kind == "seq2seq" else "bfs_prover"
    settings = HFGenerationSettings(
        kind=kind,
        prompt_template=template,
        decoding=decoding,
        num_beams=4,
        max_new_tokens=16,
        device="cpu",
        **kw,
    )  # type: ignore[arg-type]
    return HFTacticGenerator(str(models[kind]), settings)


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_tiny_models_are_trained_enough_to_be_meaningful(models: dict[str, Path], kind: str) -> None:
    """Guards the other tests against a vacuous (untrained) model, without asking for an exact sample."""
    gen = _gen(models, kind)
    for state, tactic in PAIRS:
        taught, scrambled = gen.score_tactics(requests_from_texts([state, state]), [tactic, tactic[::-1]])
        assert taught > scrambled + 1.0


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_beam_search_ranks_k_distinct_tactics_by_true_logprob(models: dict[str, Path], kind: str) -> None:
    gen = _gen(models, kind)
    out = gen.generate(requests_from_texts(STATES), 4)
    assert len(out) == len(STATES)
    for state, sugg in zip(STATES, out, strict=True):
        assert 1 <= len(sugg) <= 4 and all(s.tactic.strip() for s in sugg)
        assert len({s.tactic for s in sugg}) == len(sugg)
        lps = [s.logprob for s in sugg]
        assert lps == sorted(lps, reverse=True) and all(math.isfinite(lp) and lp <= 0 for lp in lps)
        # The reported score is the teacher-forced log-probability of the tactic (+ EOS): score_tactics
        # must agree with what generate reported, whatever the tactic is.
        forced = gen.score_tactics(requests_from_texts([state]), [sugg[0].tactic])[0]
        assert math.isclose(sugg[0].logprob, forced, abs_tol=1e-3)


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_batched_equals_one_at_a_time(models: dict[str, Path], kind: str) -> None:
    gen = _gen(models, kind, batch_size=8)
    batched = gen.generate(requests_from_texts(STATES), 3)
    single = [gen.generate(requests_from_texts([s]), 3)[0] for s in STATES]
    for b, s in zip(batched, single, strict=True):
        assert [x.tactic for x in b] == [x.tactic for x in s]
        for x, y in zip(b, s, strict=True):
            assert math.isclose(x.logprob, y.logprob, abs_tol=1e-3)


def test_sampling_is_deduplicated_and_bounded(models: dict[str, Path]) -> None:
    import torch

    torch.manual_seed(1)
    gen = _gen(models, "seq2seq", decoding="sample", num_samples=12)
    out = gen.generate(requests_from_texts(STATES[:1]), 5)[0]
    assert 1 <= len(out) <= 5
    keys = [" ".join(s.tactic.split()) for s in out]
    assert len(keys) == len(set(keys))
    assert all(math.isfinite(s.logprob) and s.logprob <= 0 for s in out)


def test_missing_model_path_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        HFTacticGenerator(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        HFTacticGenerator(str(tmp_path / "empty"))
    with pytest.raises(ModelLoadError, match="does not exist"):
        make_generator({"name": "hf", "model": str(tmp_path / "nope")})


def test_bad_settings_and_states(models: dict[str, Path]) -> None:
    with pytest.raises(ModelLoadError, match="kind"):
        HFTacticGenerator(str(models["seq2seq"]), HFGenerationSettings(kind="encoder"))
    with pytest.raises(ValueError, match="prompt_template"):
        HFTacticGenerator(str(models["seq2seq"]), HFGenerationSettings(prompt_template="nope"))
    gen = _gen(models, "seq2seq")
    with pytest.raises(GenerationInputError, match="empty"):
        gen.generate(requests_from_texts(["  \n"]), 2)
    with pytest.raises(GenerationInputError, match="over the limit"):
        gen.generate(requests_from_texts(["⊢ " + "x" * 1_000_000]), 2)


def test_factory_builds_hf_generator(models: dict[str, Path]) -> None:
    gen = make_generator(
        {
            "name": "hf",
            "model": str(models["causal"]),
            "kind": "causal",
            "prompt_template": "bfs_prover",
            "num_beams": 2,
            "max_new_tokens": 12,
            "device": "cpu",
        }
    )
    assert isinstance(gen, HFTacticGenerator)
    out = gen.generate(requests_from_texts(STATES[:1]), 2)[0]
    assert 1 <= len(out) <= 2 and len({s.tactic for s in out}) == len(out)
    forced = gen.score_tactics(requests_from_texts(STATES[:1]), [out[0].tactic])[0]
    assert math.isclose(out[0].logprob, forced, abs_tol=1e-3)


def test_critic_scores_in_unit_interval(models: dict[str, Path]) -> None:
    critic = ModelCritic(str(models["critic"]), device="cpu")
    states = ["⊢ True", "x y : ℝ\nh : x < y\n⊢ x ^ 3 < y ^ 3", "n : ℕ\n⊢ n + 0 = n"]
    batch = critic.score_batch(requests_from_texts(states))
    assert all(0.0 <= s <= 1.0 for s in batch)
    assert len(set(batch)) > 1  # depends on the state
    assert [critic.score(GenerationRequest.from_text(s)) for s in states] == pytest.approx(batch, abs=1e-5)
    with pytest.raises(ModelLoadError, match="template"):
        ModelCritic(str(models["critic"]), template="nope")
