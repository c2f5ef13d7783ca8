"""Search / executor / benchmark settings: defaults written once (YAML mirrors them), typos rejected by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prover.errors import ConfigError
from prover.evaluation.benchmarks import BenchmarkSettings
from prover.evaluation.executors import (
    EXECUTOR_SETTINGS,
    ExecutorConfigError,
    ExecutorError,
    InlineExecutor,
    LocalExecutor,
    RayExecutor,
    make_executor,
)
from prover.search.errors import SearchConfigError, SearchError
from prover.search.factory import make_searcher
from prover.search.settings import SEARCH_SETTINGS, MpsSettings, search_settings
from prover.search.whole_proof import WholeProofSearch

REPO = Path(__file__).resolve().parents[1]
#: Benchmark files differ in what they pick (which benchmark, where, which split); the rest are defaults.
BENCHMARK_CHOICES = {"name", "path", "split", "holes"}


def _yaml_files(group: str) -> list[Path]:
    files = sorted((REPO / "configs" / group).glob("*.yaml"))
    assert files, f"no configs/{group}/*.yaml found"
    return files


@pytest.mark.parametrize(
    ("path", "models"),
    [(p, SEARCH_SETTINGS) for p in _yaml_files("search")]
    + [(p, EXECUTOR_SETTINGS) for p in _yaml_files("executor")],
    ids=lambda v: f"{v.parent.name}/{v.name}" if isinstance(v, Path) else "",
)
def test_yaml_defaults_equal_the_model_defaults(path: Path, models: dict) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    model = models[data["name"]]
    defaults = model().model_dump()
    assert set(data) == set(defaults), f"{path.name}: keys differ from {model.__name__}"
    for key, value in data.items():
        assert value == defaults[key], f"{path.name}: {key} is {value!r} in YAML, {defaults[key]!r} in code"


@pytest.mark.parametrize("path", _yaml_files("benchmark"), ids=lambda p: p.name)
def test_benchmark_yaml_has_the_model_keys_and_defaults(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = BenchmarkSettings().model_dump()
    assert set(data) == set(defaults), f"{path.name}: keys differ from BenchmarkSettings"
    for key in set(defaults) - BENCHMARK_CHOICES:
        assert data[key] == defaults[key], f"{path.name}: {key} is {data[key]!r}, {defaults[key]!r} in code"


def test_composed_search_groups_build_their_searchers() -> None:
    from prover.config import compose

    for name, budget in (
        ("bfs", "1×8×100"),
        ("mcts", "1×8×100"),
        ("mps", "1×8×100"),
        ("whole_proof", "1×32×1"),
    ):
        searcher = make_searcher(compose([f"search={name}"]).search)
        assert searcher.name == name and searcher.budget == budget
    assert isinstance(make_searcher({"name": "whole_proof", "num_samples": 4}), WholeProofSearch)


@pytest.mark.parametrize(
    ("cfg", "typo"),
    [
        ({"name": "bfs", "max_expantions": 5}, "search.max_expantions"),
        ({"name": "bfs", "exploration": 1.0}, "search.exploration"),  # an MCTS key on best-first search
        ({"name": "mcts", "length_normalized": True}, "search.length_normalized"),
        ({"name": "whole_proof", "max_expansions": 3}, "search.max_expansions"),
        ({"name": "mps", "penalty_nat": 2.0}, "search.penalty_nat"),
    ],
)
def test_unknown_search_keys_are_named_with_the_known_ones(cfg: dict, typo: str) -> None:
    with pytest.raises(SearchConfigError) as exc:
        make_searcher(cfg)
    text = str(exc.value)
    assert f"unknown key {typo}" in text and "attempts" in text and "time_limit_s" in text
    assert isinstance(exc.value, ConfigError) and isinstance(exc.value, SearchError)


def test_bad_search_values_are_config_errors() -> None:
    with pytest.raises(SearchConfigError, match="search.critic"):
        search_settings({"name": "mcts", "critic": "oracle"})
    with pytest.raises(SearchConfigError, match="search.max_simulations"):
        search_settings({"name": "mcts", "max_simulations": 0})
    with pytest.raises(SearchConfigError, match="search.num_samples"):
        search_settings({"name": "whole_proof", "num_samples": 0})
    with pytest.raises(SearchConfigError, match="unknown search None"):
        search_settings({"max_expansions": 3})
    assert search_settings({"name": "mcts", "critic": None}).critic == "none"  # type: ignore[attr-defined]


def test_mps_rules_switch_single_rules_and_keep_the_rest_on() -> None:
    settings = search_settings({"name": "mps", "rules": {"shorter_state": False}})
    assert isinstance(settings, MpsSettings)
    assert settings.rules == {
        "fewer_goals": True,
        "shorter_state": False,
        "penalize_no_progress": True,
        "penalize_repeated_tactic": True,
    }
    assert make_searcher(settings).rules["shorter_state"] is False  # type: ignore[attr-defined]


def test_executor_settings_build_the_executor_and_reject_typos() -> None:
    assert isinstance(make_executor({"name": "local", "workers": 0}), InlineExecutor)
    local = make_executor({"name": "local", "workers": 3})
    assert isinstance(local, LocalExecutor) and local.workers == 3
    ray = make_executor({"name": "ray"})
    assert isinstance(ray, RayExecutor) and ray.workers == 2  # the default of configs/executor/ray.yaml
    with pytest.raises(ExecutorConfigError) as exc:
        make_executor({"name": "local", "worker": 2})
    assert "unknown key executor.worker" in str(exc.value) and "workers" in str(exc.value)
    assert isinstance(exc.value, ExecutorError) and isinstance(exc.value, ConfigError)
    with pytest.raises(ExecutorConfigError, match="executor.workers"):
        make_executor({"name": "ray", "workers": 0})
    with pytest.raises(ExecutorConfigError, match="unknown executor 'slurm'"):
        make_executor({"name": "slurm"})
