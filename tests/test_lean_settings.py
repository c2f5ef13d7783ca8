"""Lean-layer settings: one model per backend config, defaults written once (YAML mirrors them), typos named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prover.errors import ConfigError, ProverError
from prover.lean.factory import BACKEND_SETTINGS, load_backend_settings
from prover.lean.guard import GuardOptions

REPO = Path(__file__).resolve().parents[1]
BACKEND_FILES = sorted((REPO / "configs" / "backend").glob("*.yaml"))


def _resolve_repo(value: object) -> object:
    """``${repo:PATH}`` as hydra resolves it (the project root), so the file can be validated without hydra."""
    if isinstance(value, str) and value.startswith("${repo:") and value.endswith("}"):
        return str(REPO / value[len("${repo:") : -1])
    return value


@pytest.mark.parametrize("path", BACKEND_FILES, ids=lambda p: p.name)
def test_backend_yaml_mirrors_the_model(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    model = BACKEND_SETTINGS[data["name"]]
    fields = model.model_fields
    assert set(data) - {"name"} == set(fields), f"{path.name}: keys differ from {model.__name__}"
    loaded = load_backend_settings({k: _resolve_repo(v) for k, v in data.items()})
    required = {k: getattr(loaded, k) for k, info in fields.items() if info.is_required()}
    assert all(v not in (None, "", []) for v in required.values()), f"{path.name}: a required key is empty"
    # the model's defaults, validated like the YAML (`pool_size: auto`, the `guard:` block are resolved)
    defaults = model.model_validate(required)
    for key in fields:
        assert getattr(loaded, key) == getattr(defaults, key), (
            f"{path.name}: {key} is {data[key]!r} in YAML, {getattr(defaults, key)!r} in {model.__name__}"
        )


@pytest.mark.parametrize(
    ("cfg", "typo"),
    [
        ({"name": "repl", "command": ["repl"], "tactic_timeout": 3}, "backend.tactic_timeout"),
        ({"name": "scripted", "world": "w.json", "pool_sise": 2}, "backend.pool_sise"),
        ({"name": "scripted", "world": "w.json", "command": ["x"]}, "backend.command"),
        (
            {"name": "dojo", "repo_url": "u", "commit": "abc", "file_path": "A.lean", "timeout": 1},
            "backend.timeout",
        ),
    ],
)
def test_unknown_backend_keys_are_named_with_the_known_ones(cfg: dict, typo: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown key {typo} \\(known keys: "):
        load_backend_settings(cfg)


@pytest.mark.parametrize(
    "cfg",
    [
        {"name": "repl", "command": ["repl"], "guard": {"allow_sory": True}},
        {"name": "scripted", "world": "w.json", "guard": {"allow_sory": True}},
        {
            "name": "dojo",
            "repo_url": "u",
            "commit": "abc",
            "file_path": "A.lean",
            "guard": {"allow_sory": True},
        },
    ],
    ids=lambda c: c["name"],
)
def test_a_guard_typo_is_named_among_the_guard_options(cfg: dict) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown guard option backend\.guard\.allow_sory \(known guard options: allow"
    ):
        load_backend_settings(cfg)


def test_guard_options_are_a_settings_model() -> None:
    assert GuardOptions.from_config({"extra_banned": ["foo"]}).extra_banned == ("foo",)
    assert GuardOptions.from_config(None) == GuardOptions()
    with pytest.raises(ConfigError, match="guard.allow_native_decide"):
        GuardOptions.from_config({"allow_native_decide": "perhaps"})  # was bool("perhaps") == True


def test_every_lean_exception_derives_from_lean_error() -> None:
    import inspect

    import prover.lean as lean_pkg
    from prover.lean.errors import LeanError

    modules = [
        p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
        for p in (REPO / "prover" / "lean").rglob("*.py")
        if p.name not in ("__init__.py", "reaper.py")  # the reaper runs with `python -I -S`: stdlib only
    ]
    found = []
    for name in modules:
        module = __import__(name, fromlist=["_"])
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                found.append(obj)
                assert issubclass(obj, LeanError) and issubclass(obj, ProverError), f"{name}.{obj.__name__}"
    assert len(found) >= 10, [c.__name__ for c in found]
    assert lean_pkg is not None


def test_the_repl_project_dir_is_the_project_root_wherever_prover_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``backend.project_dir: .`` used to mean the current directory: a real-Lean run started elsewhere ran the
    REPL (``lake env …``) in the wrong folder."""
    from prover.config import as_plain_dict, compose
    from prover.lean.repl_backend import ReplConfig

    monkeypatch.chdir(tmp_path)
    composed = as_plain_dict(compose(["backend=repl"]).backend)
    assert ReplConfig.from_mapping(composed).project_dir == REPO
    assert ReplConfig(command=["repl"]).project_dir == REPO
    # a relative path that exists here is the user's; one that does not is read from the project root
    (tmp_path / "mine").mkdir()
    assert ReplConfig(command=["repl"], project_dir=Path("mine")).project_dir == Path("mine")
    assert ReplConfig(command=["repl"], project_dir=Path("configs")).project_dir == REPO / "configs"
