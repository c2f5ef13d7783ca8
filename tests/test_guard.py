"""The static soundness guard: cheating proofs (each refused) and honest ones (each allowed).

Besides the inline tables, ``tests/data/guard/{cheats,honest}.jsonl`` is a growing red-team corpus: one case a
line with the class it covers and why. Every cheat there was accepted by the guard before the lexer followed
Lean's own rules (checked when the case was added).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.lean.guard import GuardOptions, check_proof, check_tactic, default_tactic_guard, make_tactic_guard
from prover.lean.lexer import LexError, code_tokens, is_ident_rest, is_ident_start, tokenize
from prover.lean.statement import split_statement, statement_as_type
from prover.lean.types import Theorem

DATA = Path(__file__).parent / "data" / "guard"
REAL_TACTICS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "tactics" / "fps-search-proof-steps.jsonl"
)

THM = Theorem("t", "theorem t (n : ℕ) (h : 0 < n) : n + 0 = n")

CHEATS = [
    "sorry",
    "admit",
    "exact sorryAx _ false",
    "exact (sorryAx (n + 0 = n) true)",
    "exact @sorryAx _ false",
    "exact «sorryAx» _ false",
    "exact _root_.sorryAx _ false",
    "simp\nsorry",
    "first | simp | sorry",
    "all_goals sorry",
    "stop\n  simp",
    "slim_check",
    "plausible",
    "exact lcProof",
    "exact Quot.lcInv x",
    "native_decide",
    "decide +native",
    "exact Lean.ofReduceBool _ _ rfl",
    "exact?",
    "apply?",
    "rw?",
    "hint",
    "simp? says simp",
    "rw_search",
    "have? : n = n",
    "unfold? n",
    "try_this simp",
    "run_tac Lean.Elab.Tactic.evalTactic (← `(tactic| simp))",
    "simp\n#eval IO.println 1",
    "#exit",
    "by_elab pure (Lean.mkConst ``True.intro)",
    "simp\ntheorem bad : False := by trivial",
    "simp\naxiom bad : False",
    "simp\nend",
    'simp\nmacro "cheat" : tactic => `(tactic| sorry)',
    'simp\nnotation "X" => 1',
    'simp\nsyntax "foo" : tactic',
    'simp\nelab "foo" : tactic => pure ()',
    "set_option debug.skipKernelTC true in simp",
    "set_option debug.byAsSorry true in simp",
    "set_option autoImplicit true in simp",
    "set_option maxHeartbeats 0\nsimp",
    "open Nat\nsimp",
    "simp)\n\ntheorem bad : False := sorry",
    "exact (show False from unsafe (cast lcProof ()))",
    "simp\ninstance : Fact False := ⟨sorry⟩",
    "simp\nattribute [simp] Nat.add_comm",
    "simp\n@[implemented_by foo] def bar := 1",
    "simp\nopaque cheat : False",
    "simp\nimport Mathlib",
    "/- unterminated comment\nsimp",
    'exact "unterminated',
    "exact ``(foo)",
]

HONEST = [
    "simp",
    "omega",
    "rfl",
    "-- no sorry here\nsimp",
    "/- sorry in a block comment /- nested sorry -/ still comment -/\nsimp",
    "/-- doc comment mentioning admit -/\nsimp",
    "simp [foo_sorry_bar]",
    "exact Nat.add_zero n",
    "exact my_admit_lemma n",
    'have s : String := "sorry"\nsimp',
    "have c : Char := 'a'\nsimp",
    "have c : Char := '\\''\nsimp",
    "induction n with\n| zero => rfl\n| succ k ih => simp",
    "cases n\n· simp\n· simp",
    "constructor <;> simp",
    "nlinarith [sq_nonneg (n - 1), sq_nonneg (n + 1)]",
    "norm_num [Nat.add_comm]",
    "decide",
    "exact h.1",
    "exact ⟨h, h⟩",
    "rw [Nat.add_zero]",
    "simp only [Nat.add_zero] at h ⊢",
    "set_option maxHeartbeats 400000 in simp",
    "set_option maxRecDepth 10000 in\n  simp",
    "set_option pp.all true in simp",
    "open Nat in simp [succ_eq_add_one]",
    "open Real in\n  norm_num",
    "classical\n  simp",
    "haveI : Fact (0 < n) := ⟨h⟩\n  simp",
    "letI := Classical.decEq ℕ\n  simp",
    "calc n + 0 = n := by simp\n  _ = n := rfl",
    "refine ⟨?_, ?_⟩ <;> simp",
    "obtain ⟨k, rfl⟩ : ∃ k, n = k + 1 := ⟨n - 1, by omega⟩\n  simp",
    "exact fun x ↦ x",
    "aesop",
    "positivity",
    "field_simp",
    "linarith [h]",
    "interval_cases n <;> simp_all",
    "simp [h'] at *",
    "exact List.get? [] 0 |>.isNone",
    "exact α₁",
    "conv => lhs; rw [Nat.add_zero]",
    "show n + 0 = n\n  exact rfl",
    "exact (by simp : n + 0 = n)",
    "rcases h with ⟨a, b⟩",
]


@pytest.mark.parametrize("proof", CHEATS)
def test_cheating_proofs_are_refused(proof: str) -> None:
    assert check_proof(THM, proof), f"accepted a cheat: {proof!r}"


@pytest.mark.parametrize("proof", HONEST)
def test_honest_proofs_are_allowed(proof: str) -> None:
    assert check_proof(THM, proof) == []


def test_table_sizes() -> None:
    assert len(CHEATS) >= 40 and len(HONEST) >= 40


FULL = "theorem t (n : ℕ) (h : 0 < n) : n + 0 = n := by\n  simp"


@pytest.mark.parametrize(
    "proof",
    [
        FULL,
        "lemma t (n : ℕ) (h : 0 < n) : n + 0 = n := by simp",
        "theorem t (n : ℕ)   -- comment\n  (h : 0 < n) : n + 0 = n := by\n  simp",
        "set_option maxHeartbeats 400000 in\n" + FULL,
        "theorem t (n : ℕ) (h : 0 < n) : n + 0 = n := Nat.add_zero n",
        "by\n  simp",
    ],
)
def test_full_declarations_with_the_same_statement_are_allowed(proof: str) -> None:
    assert check_proof(THM, proof) == []


@pytest.mark.parametrize(
    ("proof", "reason"),
    [
        ("theorem t (n : ℕ) : n + 0 = n := by simp", "statement differs"),
        ("theorem t (n : ℕ) (h : 0 < n) : n + 0 = n + 0 := by simp", "statement differs"),
        ("theorem t' (n : ℕ) (h : 0 < n) : n + 0 = n := by simp", "statement differs"),
        ("@[simp] theorem t (n : ℕ) (h : 0 < n) : n + 0 = n := by simp", "statement differs"),
        ("open Foo in\ntheorem t (n : ℕ) (h : 0 < n) : n + 0 = n := by simp", "new command"),
        ("set_option autoImplicit true in\n" + FULL, "may weaken"),
        (FULL + "\n\ntheorem extra : False := sorry", "new command"),
        (FULL + "\nend", "new command"),
        ("theorem t (n : ℕ) (h : 0 < n) : n + 0 = n", "no ':='"),
    ],
)
def test_changed_statements_and_trailing_commands_are_refused(proof: str, reason: str) -> None:
    reasons = check_proof(THM, proof)
    assert reasons and any(reason.split()[0] in r for r in reasons), reasons


def test_options_make_native_decide_and_search_tactics_configurable() -> None:
    assert check_tactic("native_decide")
    assert check_tactic("native_decide", GuardOptions(allow_native_decide=True)) == []
    assert check_tactic("exact?", {"allow_search_tactics": True}) == []
    assert check_tactic("exact?")
    assert check_tactic("simp [my_lemma]", {"extra_banned": ["my_lemma"]})
    assert check_tactic("set_option my.opt 3 in simp", {"extra_options": ["my.opt"]}) == []


def test_unknown_guard_option_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="allow_sorry"):
        GuardOptions.from_config({"allow_sorry": True})


def test_guard_callables_match_check_tactic() -> None:
    assert default_tactic_guard()("sorry")
    assert default_tactic_guard()("simp") == []
    assert make_tactic_guard({"allow_native_decide": True})("native_decide") == []
    assert check_tactic("   ") == ["empty tactic"]


def test_lexer_tokens() -> None:
    toks = [t.text for t in code_tokens("h.1 «a b».c x' α₁ exact? -- c\n/- /- -/ -/ 'a' \"s\\\"\"")]
    assert toks == ["h", ".", "1", "«a b».c", "x'", "α₁", "exact?", "'a'", '"s\\""']
    with pytest.raises(LexError):
        code_tokens("/- /- -/")


def _corpus(name: str) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").split("\n") if line]
    assert all(row["text"] and row["class"] for row in rows)
    return rows


CORPUS_CHEATS = _corpus("cheats.jsonl")
CORPUS_HONEST = _corpus("honest.jsonl")


@pytest.mark.parametrize("case", CORPUS_CHEATS, ids=lambda c: f"{c['class']}:{c['text'][:30]!r}")
def test_red_team_corpus_cheats_are_refused(case: dict[str, str]) -> None:
    assert check_proof(THM, case["text"]), f"accepted a cheat ({case['class']}: {case['why']})"
    assert check_tactic(case["text"])


@pytest.mark.parametrize("case", CORPUS_HONEST, ids=lambda c: f"{c['class']}:{c['text'][:30]!r}")
def test_red_team_corpus_honest_proofs_are_allowed(case: dict[str, str]) -> None:
    assert check_proof(THM, case["text"]) == []


def test_corpus_covers_every_class() -> None:
    classes = {c["class"] for c in CORPUS_CHEATS}
    for needed in (
        "block-comment",
        "char-literal",
        "interpolated-string",
        "identifier-chars",
        "line-break",
        "native",
        "aliasing",
        "search",
        "message",
        "scope",
    ):
        assert needed in classes
    assert len(CORPUS_CHEATS) >= 40 and len(CORPUS_HONEST) >= 40


def test_block_comments_skip_the_character_after_the_opener_as_lean_does() -> None:
    # '/-/-' is ONE level for Lean: the first '-/' closes it
    assert [t.text for t in code_tokens("/-/- -/ x -- -/")] == ["x"]
    assert [t.kind for t in tokenize("/--/ doc -/ y")] == ["comment", "ident"]
    assert [t.text for t in code_tokens("/- a /- b -/ c -/ z")] == ["z"]
    for bad in ("/- /- -/", "/-", "/-/", "/--/"):
        with pytest.raises(LexError):
            tokenize(bad)


def test_char_literals_and_primes() -> None:
    toks = code_tokens("h' x'' '\\'' '\\'' '\\x41' '\"' 'a'")
    assert [t.kind for t in toks] == ["ident", "ident", "char", "char", "char", "char", "char"]
    assert [t.text for t in toks][:2] == ["h'", "x''"]
    for bad in ("'ab'", "'\\q'", "'\\u{41}'", "'"):
        with pytest.raises(LexError):
            tokenize(bad)
    # after a notation symbol a quote may belong to the notation (f ⁻¹' s): refused when a char could start
    assert [t.text for t in code_tokens("f ⁻¹' s")][-2:] == ["'", "s"]
    with pytest.raises(LexError, match="ambiguous"):
        tokenize("f ⁻¹'\"'")


def test_interpolated_strings_expose_their_code() -> None:
    toks = code_tokens('s!"a {x + "}"} b"')
    assert [t.text for t in toks] == ["s!", '"a {', "x", "+", '"}"', '} b"']
    reasons = check_tactic('exact s!"{sorry}"')
    assert any("sorry" in r for r in reasons) and any("interpolated" in r for r in reasons)
    assert check_tactic('exact (fun _ => rfl) s!"no braces \\\\ here"') == []
    with pytest.raises(LexError, match="ambiguous"):
        tokenize('"a {" x "}"')  # plain and interpolated readings differ: refuse


def test_identifier_characters_follow_lean_not_python() -> None:
    assert [t.text for t in code_tokens("sorryᶜ")] == ["sorry", "ᶜ"]
    assert [t.text for t in code_tokens("2sorry")] == ["2", "sorry"]
    assert [t.text for t in code_tokens('x.r"a" 2r"b"')] == ["x.r", '"a"', "2", 'r"b"']
    assert is_ident_start("ℝ") and is_ident_start("α") and not is_ident_start("λ") and not is_ident_start("ᶜ")
    assert is_ident_rest("₁") and is_ident_rest("?") and not is_ident_rest("٣") and not is_ident_rest("²")
    with pytest.raises(LexError, match="some Lean versions"):
        tokenize("exact café")


@pytest.mark.parametrize(
    "char", ["\t", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\u00a0", "\u200b", "\u202e"]
)
def test_characters_lean_reads_differently_from_python_are_refused_anywhere(char: str) -> None:
    reasons = check_tactic(f"simp -- comment{char}sorry")
    assert len(reasons) == 1 and "cannot be read safely" in reasons[0] and "line 1, column 16" in reasons[0]


def test_reasons_name_the_token_and_its_position() -> None:
    assert check_tactic("simp\n  exact sorry") == ["'sorry' (line 2, column 9) leaves a hole in the proof"]
    assert "line 3, column 1" in check_tactic("simp\nsimp\n#check n")[0]


def test_scoped_forms_must_scope_something_and_open_only_namespaces() -> None:
    assert check_tactic("open Real in") and check_tactic("set_option maxHeartbeats 0 in")
    assert check_tactic("open Nat renaming add → plus in simp")
    assert check_tactic("open Nat in simp") == []
    assert check_proof(THM, "set_option maxHeartbeats 400000 in\n" + FULL) == []


@pytest.mark.shared
def test_every_real_search_tactic_is_allowed(shared_data: Path) -> None:
    """2,403 tactics from real successful searches (Lean 4.15 + Mathlib): none is a search tactic or a cheat."""
    path = shared_data / "tactics" / "fps-search-proof-steps.jsonl"
    if not path.exists():
        pytest.skip(f"missing {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    assert len(rows) >= 2000
    refused = {row["tactic"]: check_tactic(row["tactic"]) for row in rows}
    refused = {tactic: reasons for tactic, reasons in refused.items() if reasons}
    assert refused == {}


def test_statement_splitting_and_closed_type() -> None:
    parts = split_statement("theorem foo {α : Type*} [Group α] (a : α) : a * 1 = a")
    assert (parts.kind, parts.name, parts.binders) == ("theorem", "foo", "{α : Type*} [Group α] (a : α)")
    assert statement_as_type("theorem foo (n : ℕ) : n + 0 = n") == "∀ (n : ℕ), n + 0 = n"
    assert statement_as_type("theorem foo : (fun x : ℕ => x) 1 = 1") == "(fun x : ℕ => x) 1 = 1"
    with pytest.raises(ValueError):
        split_statement("def")


def test_a_let_in_the_statement_is_not_the_proofs_assignment() -> None:
    thm = Theorem("x", "theorem x (a : ℕ) :\n    let m := a\n    m = a")
    assert check_proof(thm, f"{thm.statement} := by\n  intro m\n  rfl") == []
    assert check_proof(thm, "theorem x (a : ℕ) :\n    let m := a\n    m = a + 0 := by\n  simp")


def test_one_bracket_table_counts_array_literals_and_quote_brackets() -> None:
    # `#[` opens a level that `]` closes: the binder default's `:=` is not the proof's (it used to raise
    # "declaration without a type" because `]` closed the binder's parenthesis early)
    parts = split_statement("theorem foo (h : #[0].size = 1 := by simp) : True")
    assert parts.binders == "(h : #[0].size = 1 := by simp)" and parts.type == "True"
    # `⟧` and `›` close brackets too: an unbalanced one could end the proof's term early
    assert any("unbalanced" in r for r in check_tactic("exact h⟧"))
    assert check_tactic("exact ‹h›") == [] and check_tactic("simp [#[1].size]") == []
