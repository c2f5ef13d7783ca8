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


# --- PutnamBench ----------------------------------------------------------------------------------------------

PUTNAM_SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "putnambench-sample.jsonl"
PUTNAM_SHARED = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "putnambench" / "putnambench-lean4.jsonl"
)


def test_putnambench_solution_given_inlines_the_commented_answer() -> None:
    report = load_path(PUTNAM_SAMPLE)  # sniffed: whole files under "lean"
    problems = {p.id: p for p in report.problems}
    assert list(problems) == ["putnam_sample_1990_a1", "putnam_sample_1991_b2", "putnam_sample_1993_a3"]
    plain, answer, multi = problems.values()
    assert plain.category == "proof" and answer.category == "answer" and not answer.definition_names
    assert plain.theorem.statement.startswith("theorem putnam_sample_1990_a1\n    (n : ℕ) :")
    assert plain.theorem.informal.startswith("Show that for every natural number $n$")
    assert plain.theorem.header.startswith("import Mathlib") and "open Nat" in plain.theorem.header
    # the reference answer replaces `sorry`; the theorem keeps its own docstring out of the header
    assert "abbrev putnam_sample_1991_b2_solution : ℕ :=\n  6" in answer.theorem.header
    assert "sorry" not in answer.theorem.header and "Find the least" not in answer.theorem.header
    assert answer.theorem.informal.startswith("Find the least positive integer")
    # a multi-line answer keeps its lines indented under the hole (a continuation never starts a command)
    assert (
        "abbrev putnam_sample_1993_a3_solution : Set ℝ :=\n  {x : ℝ | x = 0 ∨\n  x = 1}"
        in multi.theorem.header
    )


def test_putnambench_find_the_answer_keeps_the_hole_for_the_judge() -> None:
    problems = {p.id: p for p in load_path(PUTNAM_SAMPLE, holes="find").problems}
    answer = problems["putnam_sample_1991_b2"]
    assert answer.definition_names == ("putnam_sample_1991_b2_solution",)
    assert "abbrev putnam_sample_1991_b2_solution : ℕ := sorry" in answer.theorem.header
    assert "-- 6" not in answer.theorem.header  # the reference answer is never shown to the model
    assert problems["putnam_sample_1990_a1"].definition_names == ()
    assert answer.to_json()["definition_names"] == ["putnam_sample_1991_b2_solution"]
    assert type(answer).from_json(answer.to_json()) == answer  # jobs carry the holes to the workers


def test_putnambench_answer_comment_and_row() -> None:
    from prover.evaluation.benchmarks import putnam_answer_comment, putnam_problem, putnambench_row

    hole = "abbrev x_solution : ℕ := sorry\n-- 2 ^ n\n--   + 1\n\n-- not the answer\n"
    assert putnam_answer_comment(hole) == "2 ^ n\n+ 1"
    assert putnam_answer_comment("abbrev x_solution : ℕ := sorry\n") is None
    lean = json.loads(PUTNAM_SAMPLE.read_text(encoding="utf-8").splitlines()[1])["lean"]
    row = putnambench_row("putnam_sample_1991_b2", lean)
    assert row["solution_holes"] == ["putnam_sample_1991_b2_solution"] and row["solutions"] == ["6"]
    no_answer = lean.replace("-- 6\n", "")
    assert "no reference answer" in str(putnam_problem("p", no_answer, "src", "given"))
    assert putnam_problem("p", lean.replace(":=\n  sorry\n", ":= by\n  simp\n"), "src") == (
        "the theorem's proof is not open (':= sorry' or ':= by sorry')"
    )
    assert "unknown hole mode" in str(putnam_problem("p", lean, "src", "guess"))


def test_putnambench_fetch_converts_the_pinned_archive_and_checks_it(tmp_path: Path) -> None:
    import io
    import tarfile

    from prover.evaluation.fetch import FetchError, check_file, convert_putnambench_archive
    from prover.evaluation.manifest import load_manifest
    from prover.files import file_sha256

    entry = load_manifest().get("putnambench")
    assert entry.revision and entry.url and entry.revision in entry.url and entry.sha256
    assert entry.version_warning("v4.24.0") is not None and "v4.27.0" in str(entry.version_warning("v4.24.0"))
    rows = [json.loads(x) for x in PUTNAM_SAMPLE.read_text(encoding="utf-8").splitlines()]
    archive = tmp_path / "archive.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for row in reversed(rows):  # the archive's order is not the copy's
            data = row["lean"].encode()
            info = tarfile.TarInfo(f"PutnamBench-3c9b926/lean4/src/{row['name']}.lean")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        other = tarfile.TarInfo("PutnamBench-3c9b926/isabelle/putnam_x.lean")  # not under lean4/src
        other.size = 1
        tar.addfile(other, io.BytesIO(b"x"))
    dest = tmp_path / "putnambench-lean4.jsonl"
    convert_putnambench_archive(archive, entry, dest)
    assert dest.read_bytes() == PUTNAM_SAMPLE.read_bytes()  # our sample copy is what fetch writes
    with pytest.raises(FetchError, match="checksum mismatch"):
        check_file(entry, dest)  # the manifest pins the full 672-problem copy
    assert file_sha256(dest) != entry.sha256


@pytest.mark.skipif(not PUTNAM_SHARED.is_file(), reason="the shared PutnamBench copy is not here")
def test_the_shared_putnambench_copy_matches_the_manifest_and_loads_every_problem() -> None:
    from prover.evaluation.fetch import check_file
    from prover.evaluation.manifest import load_manifest

    entry = load_manifest().get("putnambench")
    check_file(entry, PUTNAM_SHARED)
    given = load_path(PUTNAM_SHARED, holes="given")
    assert len(given.problems) == entry.expected_count == 672 and not given.skipped
    assert sum(p.category == "answer" for p in given.problems) == 346
    assert all(
        "_solution : " not in p.theorem.header or "sorry" not in p.theorem.header for p in given.problems
    )
    find = load_path(PUTNAM_SHARED, holes="find")
    assert sum(bool(p.definition_names) for p in find.problems) == 346
