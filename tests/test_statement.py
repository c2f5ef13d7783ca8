"""Statement splitting (``prover.lean.statement``) on hand-written cases and on every real benchmark statement."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.lean.statement import split_declaration, split_statement, statement_as_type


def test_plain_statement_parts() -> None:
    parts = split_statement("theorem foo {α : Type*} [Group α] (a : α) : a * 1 = a")
    assert (parts.kind, parts.name, parts.binders, parts.type) == (
        "theorem",
        "foo",
        "{α : Type*} [Group α] (a : α)",
        "a * 1 = a",
    )
    assert parts.proof is None and parts.universes == ()
    assert statement_as_type("theorem foo : (fun x : ℕ => x) 1 = 1") == "(fun x : ℕ => x) 1 = 1"


@pytest.mark.parametrize(
    ("text", "name", "universes", "binders", "type_"),
    [
        ("theorem foo.{u} (α : Type u) (a : α) : a = a", "foo", ("u",), "(α : Type u) (a : α)", "a = a"),
        (
            "theorem foo.{u, v} {α : Sort u} {β : Sort v} : True",
            "foo",
            ("u", "v"),
            "{α : Sort u} {β : Sort v}",
            "True",
        ),
        ("lemma bar (n : ℕ) : n = n", "bar", (), "(n : ℕ)", "n = n"),
        ("/-- A doc. -/\n@[simp] protected theorem A.b : 1 = 1", "A.b", (), "", "1 = 1"),
        ("private theorem p (x : ℕ := 3) : x = x", "p", (), "(x : ℕ := 3)", "x = x"),
        (
            "theorem s (h : (⟨1, 2⟩ : ℕ × ℕ) = { fst := 1, snd := 2 }) : True",
            "s",
            (),
            "(h : (⟨1, 2⟩ : ℕ × ℕ) = { fst := 1, snd := 2 })",
            "True",
        ),
        ("instance inst : Inhabited ℕ", "inst", (), "", "Inhabited ℕ"),
        ("example : (1 : ℕ) = 1", "", (), "", "(1 : ℕ) = 1"),
    ],
)
def test_heads_universes_modifiers_defaults(
    text: str, name: str, universes: tuple[str, ...], binders: str, type_: str
) -> None:
    parts = split_statement(text)
    assert (parts.name, parts.universes, parts.binders, parts.type) == (name, universes, binders, type_)


def test_universe_statement_closed_type_has_no_universe_list() -> None:
    assert statement_as_type("theorem foo.{u} (α : Type u) : α = α") == "∀ (α : Type u), α = α"


@pytest.mark.parametrize(
    ("declaration", "type_", "proof"),
    [
        ("theorem x : let m := 2; m = 2 := by\n  intro m; rfl", "let m := 2; m = 2", " by\n  intro m; rfl"),
        (
            "theorem y (a : ℕ) :\n    let m := a\n    let E := m + 1\n    E = a + 1 := by simp",
            "let m := a\n    let E := m + 1\n    E = a + 1",
            " by simp",
        ),
        ("theorem z : have h : 1 = 1 := rfl; 1 = 1 := rfl", "have h : 1 = 1 := rfl; 1 = 1", " rfl"),
        ("theorem w (f : ℕ → ℕ := fun x => x) : f 0 = 0 := by rfl", "f 0 = 0", " by rfl"),
    ],
)
def test_the_proofs_assign_is_not_a_let_or_default(declaration: str, type_: str, proof: str) -> None:
    parts = split_declaration(declaration)
    assert parts.type == type_ and parts.proof == proof


@pytest.mark.parametrize(
    "bad",
    ["def", "theorem : True", "theorem t (n : ℕ)", "theorem t :", "hello world", "theorem t.{} : True"],
)
def test_not_a_statement(bad: str) -> None:
    with pytest.raises(ValueError):
        split_statement(bad)


def test_a_statement_with_a_proof_is_refused_as_a_statement() -> None:
    with pytest.raises(ValueError, match="proof"):
        split_statement("theorem t : True := trivial")


def _benchmark_files(shared_data: Path) -> list[Path]:
    return [
        *sorted((shared_data / "minif2f").glob("*.jsonl")),
        shared_data / "formalmath" / "FormalMATH-Lite.json",
    ]


@pytest.mark.shared
def test_every_real_benchmark_statement_splits(shared_data: Path) -> None:
    """miniF2F (both variants) and FormalMATH-Lite: each statement splits, its type is non-empty and the full
    declaration (statement + ``:= by sorry``) splits at the proof's own ``:=``, not at a ``let``."""
    from prover.evaluation.benchmarks import load_path

    counts: dict[str, tuple[int, int]] = {}
    failures: list[str] = []
    for path in _benchmark_files(shared_data):
        problems = load_path(path).problems
        bad = 0
        for problem in problems:
            statement = problem.theorem.statement
            try:
                parts = split_statement(statement)
                full = split_declaration(statement + " := by sorry")
                ok = (
                    bool(parts.type)
                    and ":= by sorry" not in parts.type
                    and full.type == parts.type
                    and full.proof == " by sorry"
                    and (parts.name or parts.kind == "example")
                )
            except ValueError as exc:
                ok = False
                failures.append(f"{problem.id}: {exc}")
            if not ok:
                bad += 1
                failures.append(problem.id)
        counts[path.name] = (len(problems), bad)
    print("statement splits (problems, failures):", counts)
    assert sum(n for n, _ in counts.values()) >= 1000
    assert not failures, failures[:10]


@pytest.mark.shared
def test_raw_minif2f_formal_statements_split_at_their_proof(shared_data: Path) -> None:
    """The ``formal_statement`` fields as shipped (ending ``:= by sorry`` / ``:= by``) split at the proof."""
    import json

    for path in sorted((shared_data / "minif2f").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        proofs = {(split_declaration(row["formal_statement"]).proof or "").strip() for row in rows}
        assert len(rows) > 400 and proofs <= {"by sorry", "by"}, (path.name, proofs)
