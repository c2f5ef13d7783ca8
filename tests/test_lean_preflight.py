"""A missing Lean toolchain stops a run before it starts, with one sentence saying what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.errors import ConfigError
from prover.lean.factory import LeanUnavailable, preflight

REPO = Path(__file__).resolve().parent.parent


def test_repl_without_lake_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LeanUnavailable, match="make lean"):
        preflight({"name": "repl", "command": ["lake", "env", "repl"], "project_dir": "."})


def test_scripted_world_must_exist(tmp_path: Path) -> None:
    with pytest.raises(LeanUnavailable, match="world JSON"):
        preflight({"name": "scripted", "world": str(tmp_path / "missing.json")})
    preflight({"name": "scripted", "world": str(REPO / "tests/data/worlds/tiny.json")})


def test_unknown_backend_named() -> None:
    with pytest.raises(ConfigError, match="unknown Lean backend 'nope'"):  # a config mistake: exit 2
        preflight({"name": "nope"})


@pytest.mark.skipif(shutil.which("lake") is not None, reason="Lean is installed here")
def test_prove_without_lean_stops_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "prove",
            "--out",
            str(out),
            "benchmark=samples",
            f"benchmark.path={REPO}/datasets/samples/theorems.jsonl",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1  # the environment, not the command line, is wrong (exit 2 is for bad config/input)
    assert "make lean" in err and "Traceback" not in err and err.count("\n") == 1
    assert not (out / "results.jsonl").exists()
