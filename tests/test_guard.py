"""The static soundness guard: a table of cheating proofs (each refused) and honest ones (each allowed)."""

from __future__ import annotations

import pytest

from prover.lean.guard import GuardOptions, check_proof, check_tactic, default_tactic_guard, make_tactic_guard
from prover.lean.lexer import LexError, code_tokens, split_statement, statement_as_type
from prover.lean.types import Theorem

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
    "exact ``(foo)",
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


def test_statement_splitting_and_closed_type() -> None:
    parts = split_statement("theorem foo {α : Type*} [Group α] (a : α) : a * 1 = a")
    assert (parts.kind, parts.name, parts.binders) == ("theorem", "foo", "{α : Type*} [Group α] (a : α)")
    assert statement_as_type("theorem foo (n : ℕ) : n + 0 = n") == "∀ (n : ℕ), n + 0 = n"
    assert statement_as_type("theorem foo : (fun x : ℕ => x) 1 = 1") == "(fun x : ℕ => x) 1 = 1"
    with pytest.raises(ValueError):
        split_statement("def")
