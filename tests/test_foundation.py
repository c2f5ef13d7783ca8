"""The foundation's promises: layout, packaging, the CLI on hydra configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prover.cli.main import SUBCOMMANDS, main
from prover.config import compose
from prover.lean.types import Theorem

REPO = Path(__file__).resolve().parent.parent
REQUIRED_SUBCOMMANDS = [
    "prove",
    "lean",
    "index",
    "retrieve",
    "suggest",
    "data",
    "train",
    "synth",
    "solve",
    "serve",
]


def test_layout_exists() -> None:
    for path in [
        "prover",
        "retrieval",
        "search",
        "datasets/README.md",
        "datasets/manifest.json",
        "lean_project",
        "lakefile.lean",
        "lean-toolchain",
        "configs/prover.yaml",
        "tests",
        "bench",
        ".ci/run",
    ]:
        assert (REPO / path).exists(), path
    assert not (REPO / "datasets" / "__init__.py").exists(), "datasets/ must not be a Python package"


def test_import_datasets_is_not_ours() -> None:
    code = "import importlib.util as u; s = u.find_spec('datasets'); print(s.origin if s else 'none')"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    origin = out.stdout.strip()
    assert origin == "none" or not Path(origin).resolve().is_relative_to(REPO / "datasets"), origin


def test_packages_import() -> None:
    """retrieval/ and search/ install inside the project's namespace, never as global top-level modules."""
    code = (
        "import importlib.util as u, prover.retrieval, prover.search; "
        "print('ok', u.find_spec('search') is None, u.find_spec('retrieval') is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True)
    assert out.stdout.split() == ["ok", "True", "True"], out.stderr


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for name in REQUIRED_SUBCOMMANDS:
        assert name in text, name
    assert set(REQUIRED_SUBCOMMANDS) <= set(SUBCOMMANDS)


def test_console_script_help() -> None:
    exe = Path(sys.executable).parent / "prover"
    if not exe.exists():
        pytest.skip("console script not installed in this interpreter's environment")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "suggest" in out.stdout and "serve" in out.stdout


def test_prove_cfg_prints_composed_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "prove",
                "--cfg",
                "search=mcts",
                "search.max_expansions=7",
                "benchmark=minif2f",
                "benchmark.split=valid",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    for group in ["search:", "generator:", "retriever:", "backend:", "benchmark:"]:
        assert group in text, group
    assert "max_expansions: 7" in text and "name: mcts" in text and "split: valid" in text


def test_bad_override_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--cfg", "search=nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "bad configuration" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "group,options",
    [
        ("search", ["bfs", "mcts", "mps", "whole_proof"]),
        ("backend", ["repl", "dojo", "scripted"]),
        ("generator", ["knn", "fixed", "hf"]),
        ("retriever", ["minilm", "bm25"]),
        ("benchmark", ["samples", "minif2f", "formalmath_lite"]),
        ("executor", ["local", "ray"]),
        ("train", ["retriever", "generator"]),
    ],
)
def test_every_group_option_composes(group: str, options: list[str]) -> None:
    for option in options:
        cfg = compose([f"{group}={option}"])
        assert cfg[group]["name"] in (option, "dense" if option == "minilm" else option)


def test_manifest_is_complete() -> None:
    manifest = json.loads((REPO / "datasets" / "manifest.json").read_text())
    names = {e["name"] for e in manifest["entries"]}
    assert {"minif2f", "minif2f_deepseek", "formalmath_lite", "formalmath_all"} <= names
    for entry in manifest["entries"]:
        for key in ["name", "kind", "source_url", "revision", "licence", "expected_count", "sha256"]:
            assert key in entry, (entry["name"], key)


def test_sample_theorems_parse() -> None:
    lines = (REPO / "datasets" / "samples" / "theorems.jsonl").read_text(encoding="utf-8").splitlines()
    theorems = [
        Theorem.from_formal_statement(r["name"], r["formal_statement"], r["header"])
        for r in map(json.loads, lines)
    ]
    assert len(theorems) >= 8
    assert all(
        t.statement.startswith(f"theorem {t.name}") and not t.statement.endswith("sorry") for t in theorems
    )


def test_theorem_rejects_statement_without_proof_slot() -> None:
    with pytest.raises(ValueError, match="does not end with"):
        Theorem.from_formal_statement("x", "theorem x : True")
    t = Theorem.from_formal_statement("x", "theorem x : True := by\n")
    assert t.statement == "theorem x : True"
    assert t.with_proof("trivial") == "theorem x : True := by\n  trivial"


def test_train_without_data_exits_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    # `prover train` with nothing to train on must say so and fail, never pretend to work.
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "train.data is not set" in err and "Traceback" not in err


def test_prover_runs_without_hydra_side_effects(tmp_path: Path) -> None:
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-m", "prover.cli.main", "prove", "--cfg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "outputs").exists(), "compose API must not create hydra output dirs"


def test_verbosity_flag_is_accepted_after_the_subcommand() -> None:
    """``prover prove -v ...`` must work like ``prover -v prove ...`` (README examples use both)."""
    from prover.cli.main import _hoist_verbosity

    assert _hoist_verbosity(["prove", "-v", "search=bfs"]) == ["-v", "prove", "search=bfs"]
    assert _hoist_verbosity(["prove", "-vv", "--", "-v"]) == ["-vv", "prove", "--", "-v"]
    args, _ = (
        __import__("prover.cli.main", fromlist=["x"])
        .build_parser()
        .parse_known_args(_hoist_verbosity(["prove", "search=bfs", "-vv"]))
    )
    assert args.verbose == 2
