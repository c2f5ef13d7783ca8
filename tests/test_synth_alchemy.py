"""Alchemy's rw probes, mutated theorems and their verification, on a scripted world."""

from __future__ import annotations

from prover.lean.doubles.session import WorldSession
from prover.lean.doubles.world import World
from prover.synthesis.alchemy import (
    AlchemyCounts,
    Probe,
    Rule,
    Target,
    lean_file,
    mutate,
    mutated_proof,
    prefilter,
    rule_keys,
    same_statement,
)

ROOT = "a b : ℕ\nh : a + b = 3\n⊢ b + a = 3"
TARGET = Target("t1", "theorem t1 (a b : ℕ) (h : a + b = 3) : b + a = 3", "omega")
RULES = [
    Rule("Nat.add_comm", "∀ (n m : ℕ), n + m = m + n"),
    Rule("Nat.mul_comm", "∀ (n m : ℕ), n * m = m * n"),
    Rule("Real.sqrt_sq", "∀ {x : ℝ}, 0 ≤ x → √(x ^ 2) = x"),
    Rule("Weird.meta", "∀ (n : ℕ), n + 0 = n"),
]
CONCL = "have h_old : b + a = 3 := by\n  omega\nrw [Nat.add_comm] at h_old\nexact h_old"
HYP = "have h : a + b = 3 := by\n  rw [← Nat.add_comm] at h\n  exact h\nomega"


def world() -> World:
    goal1 = "a b : ℕ\nh : a + b = 3\n⊢ a + b = 3"
    goal2 = "a b : ℕ\nh : b + a = 3\n⊢ b + a = 3"
    return World.from_data(
        {
            "theorems": [
                {"name": "t1", "statement": TARGET.statement, "goals": [ROOT]},
                {"name": "t1_alchemy_1", "statement": "theorem t1_alchemy_1 (a b : ℕ) (h : a + b = 3) : a + b = 3",
                 "goals": [goal1]},
                {"name": "t1_alchemy_2", "statement": "theorem t1_alchemy_2 (a b : ℕ) (h : b + a = 3) : b + a = 3",
                 "goals": [goal2]},
            ],
            "goals": {
                ROOT: {
                    "omega": {"goals": []},
                    "rw [Nat.add_comm]": {"goals": [goal1]},
                    "rw [Nat.add_comm] at h": {"goals": [goal2]},
                    "rw [Weird.meta]": {"goals": ["a b : ℕ\nh : a + b = 3\n⊢ ?w + a = 3"]},
                    "rw [← Nat.add_comm]": {"goals": [ROOT]},
                },
                goal1: {
                    "have h_old : b + a = 3 := by\n  omega": {"goals": [goal1.replace("⊢", "h_old : b + a = 3\n⊢")]},
                },
                goal1.replace("⊢", "h_old : b + a = 3\n⊢"): {
                    "rw [Nat.add_comm] at h_old": {"goals": [goal1.replace("⊢", "h_old : a + b = 3\n⊢")]},
                },
                goal1.replace("⊢", "h_old : a + b = 3\n⊢"): {"exact h_old": {"goals": []}},
                goal2: {
                    "have h : a + b = 3 := by\n rw [← Nat.add_comm] at h\n exact h": {
                        "goals": ["a b : ℕ\nh✝ : b + a = 3\nh : a + b = 3\n⊢ b + a = 3"]
                    }
                },
                "a b : ℕ\nh✝ : b + a = 3\nh : a + b = 3\n⊢ b + a = 3": {"omega": {"goals": []}},
            },
        }
    )  # fmt: skip


def test_prefilter_keeps_only_rules_whose_notation_and_constants_occur() -> None:
    assert rule_keys(RULES[0]) == {"+"}
    assert rule_keys(RULES[2]) >= {"√", "^", "≤"}
    kept = [r.name for r in prefilter(TARGET, RULES)]
    assert kept == ["Nat.add_comm", "Weird.meta"]


def test_mutated_proofs_follow_alchemys_constructions() -> None:
    assert mutated_proof(Probe("Nat.add_comm", "→", "⊢"), "omega", "b + a = 3", None) == CONCL
    assert mutated_proof(Probe("Nat.add_comm", "→", "h"), "omega", "b + a = 3", "a + b = 3") == HYP
    assert Probe("T", "←", "h").tactic == "rw [← T] at h" and Probe("T", "←", "h").reverse == "rw [T] at h"


def test_variants_equal_to_the_original_are_dropped() -> None:
    assert same_statement("theorem a (x : ℕ) : ↑x = (1)", "theorem b (x : ℕ) :  x = 1")
    assert not same_statement("theorem a (x : ℕ) : x = 2", "theorem b (x : ℕ) : x = 1")


def test_mutate_probes_rebuilds_and_verifies() -> None:
    session = WorldSession(world())
    counts = AlchemyCounts()
    variants = mutate(session, TARGET, RULES, counts)
    verified = [v for v in variants if v["verified"]]
    assert [(v["rule"], v["location"]) for v in verified] == [("Nat.add_comm", "⊢"), ("Nat.add_comm", "h")]
    assert verified[0]["statement"] == "theorem t1_alchemy_1 (a b : ℕ) (h : a + b = 3) : a + b = 3"
    assert verified[0]["proof"] == CONCL and verified[1]["proof"] == HYP
    rejected = [v for v in variants if not v["verified"]]
    assert rejected and "metavariable ?w" in rejected[0]["reasons"][0]
    # 2 candidate rules x (2 directions x 2 locations + 1 apply on h) probed; the 2 filtered rules' 10 saved
    assert (counts.candidates, counts.probes, counts.probes_saved) == (2, 10, 10)
    assert counts.successes == 4 and counts.variants == 2 and counts.verified == 2
    assert counts.rejected.get("same as the original or an earlier variant") == 1
    text = lean_file("import Mathlib\n", variants)
    assert text.count("theorem t1_alchemy_") == 2 and "exact h_old" in text


def test_the_judge_given_decides_which_variants_are_verified() -> None:
    """The search session's ``verify`` is a hint (issue 19): with a judge, only its verdict counts."""
    from prover.lean.types import Verdict

    judged: list[tuple[str, str]] = []

    def judge(theorem, proof):  # a judge that accepts nothing, and records what it was asked
        judged.append((theorem.statement, proof))
        return Verdict(False, ("the judge says no",), "compile", judge="test")

    counts = AlchemyCounts()
    variants = mutate(WorldSession(world()), TARGET, RULES, counts, judge=judge)
    assert counts.verified == 0 and not any(v["verified"] for v in variants)
    assert len(judged) == 2 and all(s.startswith("theorem t1_alchemy_") for s, _ in judged)
    assert any("the judge says no" in r for v in variants for r in v.get("reasons", []))


def test_a_variant_statement_that_would_run_code_never_reaches_the_judge(monkeypatch) -> None:
    """A rebuilt statement is elaborated by the judge: it passes the strict statement rules first."""
    import prover.synthesis.alchemy as alchemy
    from prover.lean.goal_statement import GoalStatement

    rebuild = alchemy.statement_from_goal

    def with_a_by_block(goal: str, name: str = "synth_goal") -> GoalStatement:
        got = rebuild(goal, name)
        return GoalStatement(f"{got.statement} ∧ (by exact True)") if got.ok else got

    monkeypatch.setattr(alchemy, "statement_from_goal", with_a_by_block)
    judged: list[str] = []

    def judge(theorem, proof):
        judged.append(theorem.statement)
        raise AssertionError("the judge must not see a refused statement")

    counts = AlchemyCounts()
    variants = mutate(WorldSession(world()), TARGET, RULES, counts, judge=judge)
    rebuilt = [v for v in variants if "statement" in v]
    assert judged == [] and counts.verified == 0 and len(rebuilt) == 2
    assert all("'by' block" in " ".join(v["reasons"]) for v in rebuilt)
    assert counts.rejected.get("verification") == 2


def test_run_writes_checkpoints_lean_file_and_counts_and_resumes(tmp_path) -> None:
    from prover.synthesis.alchemy import run_alchemy

    session = WorldSession(world())
    out = tmp_path / "run"
    counts, variants = run_alchemy(session, [TARGET], RULES, out, {"prefilter": True})
    assert counts.verified == 2 and sum(v["verified"] for v in variants) == 2
    assert (out / "variants.lean").read_text(encoding="utf-8").count("theorem t1_alchemy_") == 2
    assert '"probes_saved": 10' in (out / "counts.json").read_text(encoding="utf-8")
    tactics_before = session.tactics_run
    again, _ = run_alchemy(session, [TARGET], RULES, out, {"prefilter": True})
    assert session.tactics_run == tactics_before and again.verified == 2  # resumed: nothing probed twice


def test_inputs_jsonl_lean_file_and_premise_corpus(tmp_path) -> None:
    import json

    import pytest

    from prover.synthesis.alchemy import AlchemyInputError, load_rules, load_targets

    lean = tmp_path / "T.lean"
    lean.write_text(
        "import Mathlib\nopen Real\n\n/-- doc -/\ntheorem t1 (a b : ℕ) (h : a + b = 3) : b + a = 3 := by\n  omega\n\n"
        "theorem open_one : True := by sorry\n",
        encoding="utf-8",
    )
    [t] = load_targets(lean)
    assert (t.name, t.statement, t.proof) == ("t1", TARGET.statement, "omega")
    assert t.header == "import Mathlib\nopen Real\n"
    rules = tmp_path / "r.jsonl"
    rules.write_text(
        json.dumps({"full_name": "Nat.add_comm", "code": "theorem Nat.add_comm (n m : ℕ) : n + m = m + n"})
        + "\n"
        + json.dumps({"name": "R", "type": "∀ x : ℕ, x * 1 = x"})
        + "\n",
        encoding="utf-8",
    )
    loaded = load_rules(rules)
    assert loaded[0] == Rule("Nat.add_comm", "∀ (n m : ℕ), n + m = m + n") and loaded[1].name == "R"
    rules.write_text('{"name": "x"}\n', encoding="utf-8")
    with pytest.raises(AlchemyInputError, match=":1: a rule needs"):
        load_rules(rules)


def test_cli_alchemy_end_to_end(tmp_path, capsys) -> None:
    import json

    from prover.cli.main import main

    w = tmp_path / "w.json"
    w.write_text(world().model_dump_json(), encoding="utf-8")
    targets = tmp_path / "t.jsonl"
    targets.write_text(json.dumps(TARGET.__dict__) + "\n", encoding="utf-8")
    rules = tmp_path / "r.jsonl"
    rules.write_text(
        "".join(json.dumps({"name": r.name, "type": r.type}) + "\n" for r in RULES), encoding="utf-8"
    )
    args = ["synth", "alchemy", "--out", str(tmp_path / "run"), "backend=scripted", f"backend.world={w}",
            "backend.in_process=true", f"synth.targets={targets}", f"synth.rules={rules}"]  # fmt: skip
    assert main(args) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["verified"] == 2 and final["probes_saved"] == 10
    assert main([*args[:-1], f"synth.rules={tmp_path / 'missing.jsonl'}"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_apply_probe_replaces_the_hypothesis_by_the_unsolved_goals() -> None:
    root = "a b : ℕ\nh : a ≤ b\n⊢ a < b + 1"
    new = "a b : ℕ\nh_1 : a < b + 1\n⊢ a < b + 1"
    target = Target("t2", "theorem t2 (a b : ℕ) (h : a ≤ b) : a < b + 1", "omega")
    rule = Rule("Nat.le_of_lt_succ", "∀ {m n : ℕ}, m < n + 1 → m ≤ n")
    proof = "have h : a ≤ b := by apply Nat.le_of_lt_succ <;> assumption\nomega"
    w = World.from_data(
        {
            "theorems": [
                {"name": "t2", "statement": target.statement, "goals": [root]},
                {"name": "t2_alchemy_1", "statement": "theorem t2_alchemy_1 (a b : ℕ) (h_1 : a < b + 1) : a < b + 1",
                 "goals": [new]},
            ],
            "goals": {
                root: {"have h_alchemy_apply : a ≤ b := by apply Nat.le_of_lt_succ": {
                    "error": "unsolved goals\ncase a\na b : ℕ\nh : a ≤ b\n⊢ a < b + 1"
                }},
                new: {"have h : a ≤ b := by apply Nat.le_of_lt_succ <;> assumption": {
                    "goals": [new.replace("⊢", "h : a ≤ b\n⊢")]}},
                new.replace("⊢", "h : a ≤ b\n⊢"): {"omega": {"goals": []}},
            },
        }
    )  # fmt: skip
    counts = AlchemyCounts()
    variants = mutate(WorldSession(w), target, [rule], counts)
    assert [(v["direction"], v["location"], v["verified"]) for v in variants] == [("apply", "h", True)]
    assert variants[0]["statement"] == "theorem t2_alchemy_1 (a b : ℕ) (h_1 : a < b + 1) : a < b + 1"
    assert variants[0]["proof"] == proof and counts.verified == 1


def test_unsolved_goals_parser() -> None:
    from prover.lean.goal_statement import unsolved_goals

    msg = "3:19: error: unsolved goals\ncase pos\nx : Bool\n⊢ Nat\n\ncase neg\nx : Bool\n⊢ Nat"
    assert unsolved_goals([msg]) == ["x : Bool\n⊢ Nat", "x : Bool\n⊢ Nat"]
    assert unsolved_goals(["1:0: error: unknown identifier 'T'"]) is None
    assert unsolved_goals([]) is None
