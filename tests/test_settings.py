"""The one config idiom: typed settings, defaults once, unknown keys rejected by name."""

from __future__ import annotations

from typing import Literal

import pytest
from omegaconf import OmegaConf
from pydantic import PositiveInt, ValidationError

from prover.errors import ConfigError, ProverError
from prover.settings import Settings, load_one_of, load_settings, one_of, tags_of


class Demo(Settings):
    max_expansions: PositiveInt = 100
    ratio: float = 0.5


def test_defaults_dicts_and_hydra_nodes() -> None:
    assert load_settings(Demo, None, "demo").max_expansions == 100
    assert load_settings(Demo, {"max_expansions": "7"}, "demo").max_expansions == 7
    node = OmegaConf.create({"name": "x", "ratio": 0.25})
    assert load_settings(Demo, node, "demo", ignore=["name"]).ratio == 0.25
    same = Demo(max_expansions=3)
    assert load_settings(Demo, same, "demo") is same


def test_unknown_key_names_the_key_and_the_known_ones() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(Demo, {"max_expantions": 5}, "search")
    text = str(exc.value)
    assert "unknown key search.max_expantions" in text
    assert "max_expansions" in text and "ratio" in text


def test_bad_value_names_key_and_value() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(Demo, {"max_expansions": "1O"}, "search")
    assert "search.max_expansions" in str(exc.value) and "'1O'" in str(exc.value)
    with pytest.raises(ConfigError):
        load_settings(Demo, {"max_expansions": -1}, "search")
    assert issubclass(ConfigError, ProverError) and issubclass(ConfigError, ValueError)


def test_non_mapping_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_settings(Demo, [1, 2], "demo")


# --- a group with several kinds: the discriminated union on ``name`` ----------------------------------


class Fast(Settings):
    name: Literal["fast"] = "fast"
    speed: PositiveInt = 3


class Slow(Settings):
    name: Literal["slow", "lazy"] = "slow"
    delay: float = 1.0


class DemoError(ConfigError):
    pass


def test_one_of_is_a_pydantic_discriminated_union_on_name() -> None:
    union = one_of((Fast, Slow))
    assert isinstance(union.validate_python({"name": "lazy", "delay": 2}), Slow)
    with pytest.raises(ValidationError) as exc:
        union.validate_python({"name": "medium"})
    assert [e["type"] for e in exc.value.errors()] == ["union_tag_invalid"]  # a tagged union, not "try each"
    assert one_of((Fast, Slow)) is union  # built once per group
    assert tags_of(Slow) == ("slow", "lazy") and tags_of(Demo) == ()


def test_load_one_of_picks_by_name_and_speaks_in_the_groups_sentences() -> None:
    assert load_one_of([Fast, Slow], {"name": "fast", "speed": "7"}, "pace").speed == 7  # type: ignore[attr-defined]
    assert isinstance(load_one_of({"fast": Fast, "slow": Slow}, None, "pace", default="slow"), Slow)
    same = Fast(speed=1)
    assert load_one_of([Fast, Slow], same, "pace") is same
    with pytest.raises(DemoError, match=r"^unknown pace 'medium'; choose one of: fast, slow, lazy$"):
        load_one_of([Fast, Slow], {"name": "medium"}, "pace", error=DemoError)
    with pytest.raises(DemoError, match="unknown pace None"):
        load_one_of([Fast, Slow], {"speed": 2}, "pace", error=DemoError)
    with pytest.raises(
        DemoError
    ) as exc:  # a key of another kind is unknown here, named with this kind's keys
        load_one_of([Fast, Slow], {"name": "fast", "delay": 2.0}, "pace", error=DemoError)
    assert str(exc.value) == "unknown key pace.delay (known keys: name, speed)"
    with pytest.raises(DemoError, match=r"^pace\.speed: .*got 0$"):
        load_one_of([Fast, Slow], {"name": "fast", "speed": 0}, "pace", error=DemoError)
    with pytest.raises(DemoError, match="pace config must be a mapping"):
        load_one_of([Fast, Slow], [1, 2], "pace", error=DemoError)


def test_every_group_with_kinds_is_the_one_discriminated_union() -> None:
    """search, generator, retriever and executor pick their model by ``name`` through ``load_one_of``: the same
    sentences for an unknown kind and for a typo, each in the group's own error type."""
    from prover.evaluation.executors import ExecutorConfigError, executor_settings
    from prover.generation.settings import GeneratorConfigError, generator_settings
    from prover.retrieval.settings import retriever_settings
    from prover.search.errors import SearchConfigError
    from prover.search.settings import search_settings

    groups = [
        (search_settings, "search", "bfs", "max_expantions", SearchConfigError),
        (generator_settings, "generator", "knn", "portfolio_wieght", GeneratorConfigError),
        (retriever_settings, "retriever", "bm25", "index_type", ConfigError),  # a dense-only key
        (executor_settings, "executor", "ray", "worker", ExecutorConfigError),
    ]
    for load, group, kind, typo, error in groups:
        assert load({"name": kind}).name == kind
        with pytest.raises(error, match=rf"^unknown {group} 'nope'; choose one of: .*{kind}"):
            load({"name": "nope"})
        with pytest.raises(error, match=rf"^unknown key {group}\.{typo} \(known keys: .*name"):
            load({"name": kind, typo: 1})
