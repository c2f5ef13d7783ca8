"""Benchmark loaders read Lean as Lean does, report every skip by name, and refuse bad files in one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.evaluation.benchmarks import (
    MAX_BENCHMARK_BYTES,
    BenchmarkError,
    load_benchmark,
    load_formalmath_json,
    load_path,
)

LEAN_FILE = """\
import Mathlib
open Nat

/-! Module doc: a `theorem fake : False := by sorry` here is not a problem. -/

-- theorem commented_out : False := by sorry

lemma helper : 1 = 1 := rfl

namespace Foo

/-- The doc comment belongs to the statement. -/
@[simp] theorem a (n : ℕ) : n = n := by sorry -- TODO: prove it

theorem b.{u} (α : Sort u) (x : α) :
    x = x := by
  sorry

section Inner
variable (m : ℕ)

lemma c : m + 0 = m := by
  sorry

def s : String := "theorem in_a_string : False := by sorry"

theorem proved_inside : (1 : ℕ) + 1 = 2 := by
  norm_num
end Inner

namespace Bar
open Real in
theorem d : (2 : ℝ) = 2 := by sorry

theorem _root_.e : let x := 2; x = 2 := by sorry
end Bar
end Foo

set_option maxHeartbeats 400000 in
private lemma f : True := by
  sorry

theorem partial_proof : True ∧ True := by
  have h : True := by sorry
  exact ⟨h, h⟩

example : 2 = 2 := by sorry

theorem g : ∀ n : ℕ, n = n
  | 0 => rfl
  | _ + 1 => rfl

noncomputable section
theorem h : True := sorry
end
"""


def _load(tmp_path: Path, text: str = LEAN_FILE):
    path = tmp_path / "Problems.lean"
    path.write_text(text, encoding="utf-8")
    return load_path(path)


def test_lean_loader_finds_every_open_theorem_with_its_lean_name(tmp_path: Path) -> None:
    report = _load(tmp_path)
    assert [p.id for p in report.problems] == ["Foo.a", "Foo.b", "Foo.c", "Foo.Bar.d", "e", "f", "h"]
    by_id = {p.id: p for p in report.problems}
    assert all(p.theorem.name == p.id for p in report.problems)
    assert by_id["Foo.a"].theorem.statement == (
        "/-- The doc comment belongs to the statement. -/\n@[simp] theorem a (n : ℕ) : n = n"
    )
    assert by_id["Foo.b"].theorem.statement == "theorem b.{u} (α : Sort u) (x : α) :\n    x = x"
    assert by_id["e"].theorem.statement == "theorem _root_.e : let x := 2; x = 2"
    assert by_id["f"].theorem.statement == "private lemma f : True"
    assert by_id["h"].theorem.statement == "theorem h : True"


def test_lean_loader_headers_keep_scopes_and_helpers_but_not_other_problems(tmp_path: Path) -> None:
    by_id = {p.id: p for p in _load(tmp_path).problems}
    c = by_id["Foo.c"].theorem.header
    assert "namespace Foo" in c and "section Inner" in c and "variable (m : ℕ)" in c
    assert "lemma helper : 1 = 1 := rfl" in c and c.startswith("import Mathlib")
    assert "theorem a" not in c and "theorem b" not in c  # earlier problems are stated, not proved
    d = by_id["Foo.Bar.d"].theorem.header
    assert "theorem proved_inside" in d and "end Inner" in d and d.rstrip().endswith("open Real")
    assert "open Real" not in by_id["e"].theorem.header  # `open … in` applies to its own theorem only
    assert by_id["f"].theorem.header.rstrip().endswith("set_option maxHeartbeats 400000")
    assert "partial_proof" not in by_id["h"].theorem.header  # a proof using sorry is no helper
    assert "noncomputable section" in by_id["h"].theorem.header


def test_lean_loader_reports_every_theorem_it_does_not_load(tmp_path: Path) -> None:
    skipped = dict(_load(tmp_path).skipped)
    assert skipped["helper"].startswith("already proved")
    assert skipped["Foo.proved_inside"].startswith("already proved")
    assert skipped["g"].startswith("already proved")
    assert "partial" in skipped["partial_proof"]
    example_line = LEAN_FILE[: LEAN_FILE.index("example :")].count("\n") + 1
    assert "example" in skipped[f"Problems.lean:{example_line}"]
    assert len(skipped) == 5  # and nothing from comments, strings or module docs


def test_lean_loader_counts_duplicates_and_reads_nested_namespaces(tmp_path: Path) -> None:
    text = (
        "import Mathlib\nnamespace A.B\ntheorem t : True := by sorry\nend A.B\n"
        "namespace A\nnamespace B\ntheorem t : True := by\n  sorry\nend B\nend A\ntheorem t : True := by sorry\n"
    )
    report = _load(tmp_path, text)
    assert [p.id for p in report.problems] == ["A.B.t", "t"]
    assert report.skipped == [("A.B.t", "duplicate problem id")]


def test_formalmath_keeps_the_named_theorem_and_reports_text_after_it(tmp_path: Path) -> None:
    data = [
        {
            "theorem_names": "fm_ok",
            "autoformalization": "import Mathlib\n\ntheorem fm_ok : let x := 2; x = 2 := by -- comment",
        },
        {
            "theorem_names": "fm_after",
            "autoformalization": "import Mathlib\ntheorem fm_after : True := by\n\ntheorem other : True := by\n",
        },
    ]
    path = tmp_path / "fm.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = load_formalmath_json(path, "fm")
    assert [p.theorem.statement for p in report.problems] == ["theorem fm_ok : let x := 2; x = 2"]
    assert report.skipped == [("fm_after", "text after the theorem (theorem other)")]


def test_jsonl_statement_may_end_with_a_comment(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    row = {
        "name": "t",
        "header": "import Mathlib\n",
        "formal_statement": "theorem t : 1 = 1 := by sorry -- TODO",
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (problem,) = load_path(path).problems
    assert problem.theorem.statement == "theorem t : 1 = 1"


# --- files that are not benchmarks --------------------------------------------------------------------


def _bad_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as fh:
        fh.truncate(MAX_BENCHMARK_BYTES + 1)  # sparse: costs no disk
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(bytes(range(256)) * 40)
    garbage_lean = tmp_path / "garbage.lean"
    garbage_lean.write_bytes(b"theorem t : True := by\n  \xff\xfe sorry\n")
    shape = tmp_path / "shape.json"
    shape.write_text('{"problems": 3}', encoding="utf-8")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('[1, 2]\n{"title": "no name"}\n', encoding="utf-8")
    proved = tmp_path / "proved.lean"
    proved.write_text("theorem p : True := trivial\n", encoding="utf-8")
    unterminated = tmp_path / "open_comment.lean"
    unterminated.write_text(
        "import Mathlib\n/- never closed\ntheorem t : True := by sorry\n", encoding="utf-8"
    )
    return {
        "dev_zero": (Path("/dev/zero"), "character device"),
        "fifo": (fifo, "FIFO"),
        "directory": (folder, "is a directory"),
        "huge": (huge, "MiB"),
        "binary": (garbage, "no benchmark problem .* could be read .*garbage.jsonl:1"),
        "binary_lean": (garbage_lean, "garbage.lean:2: not UTF-8"),
        "json_shape": (shape, "expected a JSON list"),
        "row_shape": (rows, "rows.jsonl:1: expected a JSON object"),
        "all_proved": (proved, "already proved"),
        "lexing": (unterminated, "unterminated comment"),
        "missing": (tmp_path / "nope.jsonl", "not found"),
    }


CASES = ["dev_zero", "fifo", "directory", "huge", "binary", "binary_lean", "json_shape", "row_shape"]
CASES += ["all_proved", "lexing", "missing"]


@pytest.mark.timeout(20)  # reading /dev/zero or a FIFO would never end
@pytest.mark.parametrize("case", CASES)
def test_a_bad_benchmark_file_is_one_line_naming_it(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, expected = _bad_paths(tmp_path)[case]
    with pytest.raises(BenchmarkError, match=expected) as info:
        load_path(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    code = main(["data", "show", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(path) in err and "Traceback" not in err


# --- selecting problems -------------------------------------------------------------------------------


@pytest.fixture()
def bench(tmp_path: Path) -> Path:
    path = tmp_path / "b.jsonl"
    rows = [
        {"name": "w1", "split": "valid", "formal_statement": "theorem w1 : True := by sorry"},
        {"name": "w2", "split": "test", "formal_statement": "theorem w2 : True := by sorry"},
        {"name": "w3", "split": "test", "formal_statement": "theorem w3 : True := by sorry"},
        {"name": "broken", "split": "test", "formal_statement": "theorem broken : True"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _select(path: Path, **kw):
    return load_benchmark(
        {"name": "local", "path": str(path), "split": None, "limit": None, "names": None, **kw}
    )


def test_names_limit_and_split_select(bench: Path) -> None:
    problems, _ = _select(bench, names=["w3", "w1"])
    assert [p.id for p in problems] == ["w1", "w3"]  # file order
    assert [p.id for p in _select(bench, names="w2")[0]] == ["w2"]  # one bare name
    assert [p.id for p in _select(bench, split="test", limit="1")[0]] == ["w2"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"names": ["w3", "nope"]}, "no problem named 'nope'"),
        ({"names": ["broken"]}, "'broken' was skipped while loading"),
        ({"names": ["w1"], "split": "test"}, "'w1' is in split 'valid', not 'test'"),
        ({"names": []}, "empty list"),
        ({"limit": "abc"}, "benchmark.limit"),
        ({"limit": -3}, "benchmark.limit"),
        ({"limit": 0}, "benchmark.limit"),
        ({"limt": 3}, "unknown key benchmark.limt"),
    ],
)
def test_a_wrong_selection_is_an_error_not_a_smaller_run(bench: Path, override: dict, message: str) -> None:
    with pytest.raises(BenchmarkError, match=message) as info:
        _select(bench, **override)
    assert "\n" not in str(info.value)
