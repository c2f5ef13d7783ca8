"""Generator / critic / retriever settings: defaults written once (YAML mirrors them), typos rejected by name."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from prover.generation import knn as knn_module
from prover.generation.factory import GeneratorConfigError, make_critic, make_generator
from prover.generation.knn import KnnTacticGenerator
from prover.generation.settings import GENERATOR_SETTINGS, CriticSettings, KnnSettings
from prover.retrieval.settings import RETRIEVER_SETTINGS

REPO = Path(__file__).resolve().parents[1]


def _yaml_files(group: str) -> list[Path]:
    files = sorted((REPO / "configs" / group).glob("*.yaml"))
    assert files, f"no configs/{group}/*.yaml found"
    return files


@pytest.mark.parametrize(
    ("path", "models"),
    [(p, GENERATOR_SETTINGS) for p in _yaml_files("generator")]
    + [(p, RETRIEVER_SETTINGS) for p in _yaml_files("retriever")],
    ids=lambda v: v.name if isinstance(v, Path) else "",
)
def test_yaml_defaults_equal_the_model_defaults(path: Path, models: dict) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    model = models[data["name"]]
    defaults = model().model_dump()
    assert set(data) == set(defaults), f"{path.name}: keys differ from {model.__name__}"
    for key, value in data.items():
        assert value == defaults[key], f"{path.name}: {key} is {value!r} in YAML, {defaults[key]!r} in code"


def test_knn_portfolio_weight_has_one_default() -> None:
    import inspect

    default = KnnSettings().portfolio_weight
    assert default == 0.2
    signature = inspect.signature(KnnTacticGenerator.__init__)
    assert signature.parameters["portfolio_weight"].default == default


@pytest.mark.parametrize(
    ("cfg", "typo"),
    [
        ({"name": "knn", "portfolio_wieght": 0.3}, "generator.portfolio_wieght"),
        ({"name": "portfolio", "max_state_char": 10}, "generator.max_state_char"),
        ({"name": "hf", "model": "x", "num_beam": 4}, "generator.num_beam"),
        ({"name": "fixed", "tactic": []}, "generator.tactic"),
        ({"name": "vllm", "temprature": 0.5}, "generator.temprature"),
    ],
)
def test_unknown_generator_keys_are_named_with_the_known_ones(cfg: dict, typo: str) -> None:
    with pytest.raises(GeneratorConfigError) as exc:
        make_generator(cfg)
    text = str(exc.value)
    assert f"unknown key {typo}" in text and "max_state_chars" in text


def test_bad_values_and_names_are_config_errors() -> None:
    with pytest.raises(GeneratorConfigError, match="generator.portfolio_weight"):
        make_generator({"name": "knn", "portfolio_weight": 2.0})
    with pytest.raises(GeneratorConfigError, match="unknown generator 'gpt'"):
        make_generator({"name": "gpt"})
    with pytest.raises(GeneratorConfigError, match="unknown key critic.scael"):
        make_critic({"name": "heuristic", "scael": 10})
    assert make_critic({"name": "none"}) is None
    critic = make_critic({"name": "heuristic", "scale": 100.0})
    assert critic is not None and critic.scale == 100.0  # type: ignore[attr-defined]
    assert CriticSettings().goal_decay == 0.5


def test_unknown_retriever_key_is_named() -> None:
    from prover.generation.factory import make_retriever

    with pytest.raises(GeneratorConfigError, match="unknown key retriever.index_typ"):
        make_retriever({"name": "dense", "index_typ": "flat"})
    with pytest.raises(GeneratorConfigError, match="unknown key retriever.encoder"):
        make_retriever({"name": "bm25", "encoder": "minilm"})  # a dense-only key


class _Encoder:
    dim = 4

    def encode(self, texts: list[str]):
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tactics.jsonl"
    path.write_text(json.dumps({"goals": ["⊢ True"], "tactic": "trivial"}) + "\n", encoding="utf-8")
    return path


def test_knn_cache_goes_to_the_user_cache_never_beside_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prover.retrieval.encoder

    monkeypatch.setattr(prover.retrieval.encoder, "load_encoder", lambda name, device="cpu": _Encoder())
    corpus = _corpus(tmp_path / "shared")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert knn_module.user_cache_dir() == tmp_path / "home" / ".cache" / "lean-prover" / "knn"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative paths are invalid
    assert knn_module.user_cache_dir() == tmp_path / "home" / ".cache" / "lean-prover" / "knn"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # A read-only corpus folder (e.g. ../shared) is never written to.
    os.chmod(corpus.parent, stat.S_IRUSR | stat.S_IXUSR)
    try:
        gen = KnnTacticGenerator.from_corpus(corpus, encoder="fake")
    finally:
        os.chmod(corpus.parent, stat.S_IRWXU)
    assert sorted(p.name for p in corpus.parent.iterdir()) == ["tactics.jsonl"]
    cached = list((tmp_path / "xdg" / "lean-prover" / "knn").glob("tactics.jsonl.fake.*.npy"))
    assert len(cached) == 1
    assert gen.portfolio_weight == KnnSettings().portfolio_weight
    # An explicit cache_dir wins.
    KnnTacticGenerator.from_corpus(corpus, encoder="fake", cache_dir=tmp_path / "mine")
    assert len(list((tmp_path / "mine").glob("*.npy"))) == 1
