"""The one config idiom: typed settings, defaults once, unknown keys rejected by name."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from pydantic import PositiveInt

from prover.errors import ConfigError, ProverError
from prover.settings import Settings, load_settings


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
