"""Alchemy targets from LeanDojo data (Benchmark 4 split files, traced repositories) and from Lean files.

``tests/data/alchemy/`` is a self-written sample in LeanDojo's layout: ``leandojo/random/train.json`` in Benchmark
4's format (``url, commit, file_path, full_name, start, end, traced_tactics``) naming theorems of
``repo/Sample/Basic.lean`` by 1-based ``[line, column]`` spans.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from prover.synthesis.alchemy import AlchemyInputError, Target, load_targets
from prover.synthesis.alchemy_inputs import (
    SOURCE_SUFFIX,
    leandojo_located,
    targets_at_positions,
    traced_located,
)

DATA = Path(__file__).resolve().parent / "data" / "alchemy"
HEADER = "import Mathlib.Algebra.Group.Basic\nimport Mathlib.Tactic.Ring\nopen Function\n"


def test_benchmark4_targets_are_cut_from_the_source_at_their_positions() -> None:
    skipped: list[str] = []
    targets = load_targets(DATA / "leandojo", DATA / "repo", skipped=skipped)
    by = {t.name: t for t in targets}
    assert list(by) == ["Sample.add_swap", "Sample.two_steps", "outside"]
    swap = by["Sample.add_swap"]
    # the doc comment is dropped, the name restated (the original exists in its own environment)
    assert swap.statement == f"theorem Sample.add_swap{SOURCE_SUFFIX} (a b : ℕ) (h : a + b = 3) : b + a = 3"
    assert swap.proof == "rw [Nat.add_comm]\nexact h"
    assert swap.header == HEADER + "open Sample\n"  # its namespace is opened: short names resolve
    # a multi-line statement and a nested block keep their layout relative to the block's column
    assert by["Sample.two_steps"].statement.endswith("(hx : x ≤ y) : x < y + 1")
    assert by["Sample.two_steps"].proof.splitlines() == [
        "have hy : y < y + 1 := Nat.lt_succ_self y",
        "calc x ≤ y := hx",
        "  _ < y + 1 := hy",
    ]
    assert by["outside"].statement.startswith(f"theorem outside{SOURCE_SUFFIX}.{{u}} {{α : Sort u}}")
    assert by["outside"].header == HEADER
    assert any(s.startswith("Sample.term_mode: a term-mode proof") for s in skipped)
    assert any(s.startswith("Sample.gone: cannot read Sample/Missing.lean") for s in skipped)


def test_benchmark4_split_file_alone_and_the_training_reader_agree_on_the_sample() -> None:
    from prover.training.sources import from_leandojo

    one = load_targets(DATA / "leandojo" / "random" / "train.json", DATA / "repo")
    assert [t.name for t in one] == ["Sample.add_swap", "Sample.two_steps", "outside"]
    tactics, premises = from_leandojo(DATA / "leandojo")  # the same file is real Benchmark 4 for training
    assert [t.tactic for t in tactics] == ["rw [Nat.add_comm]", "exact h"] and premises


def test_benchmark4_needs_its_source_root_and_names_bad_entries(tmp_path: Path) -> None:
    with pytest.raises(AlchemyInputError, match="set synth.source_root"):
        load_targets(DATA / "leandojo")
    bad = tmp_path / "train.json"
    bad.write_text(json.dumps([{"full_name": "x", "file_path": "A.lean", "start": [1, 1]}]), encoding="utf-8")
    with pytest.raises(AlchemyInputError, match=r"train.json\[0\]: a theorem needs"):
        load_targets(bad, tmp_path)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(AlchemyInputError, match="not a LeanDojo split file"):
        load_targets(bad, tmp_path)


def test_positions_may_be_printed_as_strings_and_spans_outside_the_file_are_skipped() -> None:
    located = leandojo_located(DATA / "leandojo" / "random" / "train.json")
    assert located[0].start == (11, 1) and located[0].end == (14, 10)
    far = located[0].__class__("Sample.far", "Sample/Basic.lean", (400, 1), (401, 1))
    found, skipped = targets_at_positions(DATA / "repo", [far])
    assert found == [] and "outside the file" in skipped[0]


def test_traced_repo_theorems_are_read_through_leandojos_objects() -> None:
    """A ``lean_dojo.TracedRepo`` seen through what the loader touches (as tests/test_retrieval_corpus.py
    does for premises): ``root_dir`` and ``get_traced_theorems()`` with ``theorem.full_name``, ``file_path``,
    ``start``/``end`` (LeanDojo ``Pos``, iterable as line, column)."""

    def traced(name: str, start: tuple[int, int], end: tuple[int, int]) -> SimpleNamespace:
        return SimpleNamespace(
            theorem=SimpleNamespace(full_name=name), file_path=Path("Sample/Basic.lean"), start=start, end=end
        )

    repo = SimpleNamespace(
        root_dir=DATA / "repo",
        get_traced_theorems=lambda: [traced("Sample.add_swap", (11, 1), (14, 10)), traced("outside", (26, 1), (26, 86))],
    )  # fmt: skip
    root, located = traced_located(repo)
    targets, skipped = targets_at_positions(root, located)
    assert [t.name for t in targets] == ["Sample.add_swap", "outside"] and skipped == []
    assert targets[0].proof == "rw [Nat.add_comm]\nexact h"


def test_lean_file_targets_keep_the_layout_of_multi_line_proofs(tmp_path: Path) -> None:
    lean = tmp_path / "T.lean"
    lean.write_text(
        "import Mathlib\n\ntheorem t (x y : ℕ) (hx : x ≤ y) : x < y + 1 := by\n"
        "  have hy : y < y + 1 := by\n    omega\n  omega\n\ntheorem u : 1 = 1 := rfl\n",
        encoding="utf-8",
    )
    skipped: list[str] = []
    [t] = load_targets(lean, skipped=skipped)
    assert t == Target("t", "theorem t (x y : ℕ) (hx : x ≤ y) : x < y + 1", "have hy : y < y + 1 := by\n  omega\nomega",
                       "import Mathlib\n")  # fmt: skip
    assert skipped and "u: a term-mode proof" in skipped[0]


def test_cli_runs_alchemy_on_benchmark4_targets_with_dense_ranking_options(tmp_path: Path, capsys) -> None:
    from prover.cli.main import main
    from prover.lean.doubles.world import World

    stmt = f"theorem Sample.add_swap{SOURCE_SUFFIX} (a b : ℕ) (h : a + b = 3) : b + a = 3"
    root = "a b : ℕ\nh : a + b = 3\n⊢ b + a = 3"
    new = "a b : ℕ\nh : a + b = 3\n⊢ a + b = 3"
    have = new.replace("⊢", "h_old : b + a = 3\n⊢")
    done = new.replace("⊢", "h_old : a + b = 3\n⊢")
    name = "Sample.add_swap_alchemy_1"
    world = World.from_data(
        {
            "theorems": [
                {"name": "Sample.add_swap", "statement": stmt, "goals": [root]},
                {"name": name, "statement": f"theorem {name} (a b : ℕ) (h : a + b = 3) : a + b = 3", "goals": [new]},
            ],
            "goals": {
                root: {"rw [Nat.add_comm]": {"goals": [new]}},
                new: {"have h_old : b + a = 3 := by\n  rw [Nat.add_comm]\n  exact h": {"goals": [have]}},
                have: {"rw [Nat.add_comm] at h_old": {"goals": [done]}},
                done: {"exact h_old": {"goals": []}},
            },
        }
    )  # fmt: skip
    w = tmp_path / "w.json"
    w.write_text(world.model_dump_json(), encoding="utf-8")
    rules = tmp_path / "r.jsonl"
    rules.write_text(
        json.dumps({"name": "Nat.add_comm", "type": "∀ (n m : ℕ), n + m = m + n"}) + "\n", encoding="utf-8"
    )
    out = tmp_path / "run"
    args = ["synth", "alchemy", "--out", str(out), "backend=scripted", f"backend.world={w}", "backend.in_process=true",
            f"synth.targets={DATA / 'leandojo'}", f"synth.source_root={DATA / 'repo'}", f"synth.rules={rules}",
            "synth.max_rules=5"]  # fmt: skip
    assert main(args) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (final["targets"], final["skipped_targets"], final["verified"], final["pairs"]) == (3, 2, 1, 3)
    assert final["rejected"]["target does not start with one goal"] == 2  # not in the scripted world
    lean = (out / "variants.lean").read_text(encoding="utf-8")
    assert lean.startswith(HEADER + "open Sample\n") and f"theorem {name} " in lean
    assert (out / "tactics.jsonl").read_text(encoding="utf-8").count(
        '"source": "alchemy-Sample.add_swap_alchemy_1/Sample.add_swap"'
    ) == 3
    # a dense index that is not there is one clear line, exit 2
    assert (
        main(
            [
                *args[:-1],
                "synth.rank=dense",
                f"synth.rank_index={tmp_path / 'none'}",
                "--out",
                str(tmp_path / "r2"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none" in err[0]


def test_rules_from_leandojo_corpus_keep_the_theorems_and_leave_out_definitions(tmp_path: Path) -> None:
    from prover.synthesis.alchemy import Rule, load_rules

    rules = load_rules(DATA / "leandojo" / "corpus.jsonl")  # read by prover.retrieval.corpus
    assert rules == [
        Rule("Sample.add_swap", "∀ (a b : ℕ) (h : a + b = 3), b + a = 3"),
        Rule("mul_comm", "∀ {G : Type u_1} [CommMagma G] (a b : G), a * b = b * a"),
    ]
    bad = tmp_path / "corpus.jsonl"
    bad.write_text('{"path": "A.lean", "imports": [], "premises": 3}\n', encoding="utf-8")
    with pytest.raises(AlchemyInputError, match="'premises' must be a list"):
        load_rules(bad)
    with pytest.raises(AlchemyInputError, match="not a LeanDojo traced repo"):
        load_rules(tmp_path)  # a directory must be a traced repository
    ir = tmp_path / ".lake" / "build" / "ir"
    ir.mkdir(parents=True)
    (ir / "A.trace.xml").write_text("<TracedFile/>", encoding="utf-8")
    with pytest.raises(AlchemyInputError, match="rules: .*not a Git repo"):  # LeanDojo's own check, one line
        load_rules(tmp_path)
    with pytest.raises(AlchemyInputError, match="targets: .*not a Git repo"):
        load_targets(tmp_path)
