"""Alchemy: dense ranking of the candidate rules under a probe budget, state-tactic pairs of the verified variants
(read by ``prover data build-train``), round-trip rejections counted by class, and the run's Lean file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from prover.lean.doubles.session import WorldSession
from prover.lean.doubles.world import World
from prover.lean.types import TacticState, Theorem
from prover.synthesis.alchemy import (
    AlchemyCounts,
    AlchemyInputError,
    Rule,
    Target,
    lean_file,
    merged_header,
    mutate,
    proof_steps,
    run_alchemy,
    tactic_lines,
    top_level_tactics,
    with_pp_options,
)
from prover.synthesis.alchemy_rank import DenseRuleRanker

ROOT = "a b : ℕ\nh : a * b = 6\n⊢ b * a + 0 = 6"
TARGET = Target("t3", "theorem t3 (a b : ℕ) (h : a * b = 6) : b * a + 0 = 6", "omega")
ADD = Rule("R.add_zero", "∀ (n : ℕ), n + 0 = n")
MUL = Rule("R.mul_comm", "∀ (n m : ℕ), n * m = m * n")


class SymbolEncoder:
    """A deterministic stand-in for MiniLM: counts of a few symbols, L2-normalised (inner product = cosine)."""

    name = "symbols"
    vocab = ("*", "+", "0")
    dim = len(vocab)
    batch_size = 8

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        rows = np.array([[t.count(s) for s in self.vocab] for t in texts], dtype=np.float32) + 1e-6
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class LoggingSession(WorldSession):
    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.probed: list[str] = []

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]):
        self.probed += [t for _, t in steps]
        return super()._run_tactics(steps)


def _world() -> World:
    return World.from_data(
        {"theorems": [{"name": "t3", "statement": TARGET.statement, "goals": [ROOT]}], "goals": {}}
    )


def test_dense_ranking_changes_which_rules_are_probed_when_max_rules_cuts() -> None:
    # both rules pass the symbol filter; the goal has two `*` and one `+ 0`: the retriever puts mul_comm first
    plain, ranked = LoggingSession(_world()), LoggingSession(_world())
    c_plain, c_ranked = AlchemyCounts(), AlchemyCounts()
    mutate(plain, TARGET, [ADD, MUL], c_plain, max_rules=1)
    ranker = DenseRuleRanker.from_rules([ADD, MUL], SymbolEncoder())
    assert [r.name for r in ranker.rank(ROOT, [ADD, MUL])] == ["R.mul_comm", "R.add_zero"]
    mutate(ranked, TARGET, [ADD, MUL], c_ranked, ranker=ranker, max_rules=1)
    assert {t for t in plain.probed if "R." in t} == {"rw [R.add_zero]", "rw [← R.add_zero]", "rw [R.add_zero] at h",
                                                     "rw [← R.add_zero] at h", "have h_alchemy_apply : a * b = 6 := by apply R.add_zero"}  # fmt: skip
    assert all("R.mul_comm" in t for t in ranked.probed) and len(ranked.probed) == 5
    # the report: rules in corpus, after the symbol filter, probed; probes saved against probing everything
    for c in (c_plain, c_ranked):
        assert (c.rules, c.candidates, c.probed_rules, c.probes, c.probes_all, c.probes_saved) == (
            2,
            2,
            1,
            5,
            10,
            5,
        )


def test_ranking_without_a_cut_probes_every_candidate_and_unknown_rules_come_last() -> None:
    ranker = DenseRuleRanker.from_rules([MUL], SymbolEncoder())  # ADD is not in the index
    assert [r.name for r in ranker.rank(ROOT, [ADD, MUL])] == ["R.mul_comm", "R.add_zero"]
    session = LoggingSession(_world())
    counts = AlchemyCounts()
    mutate(session, TARGET, [ADD, MUL], counts, ranker=ranker)
    assert counts.probed_rules == 2 and counts.probes_saved == 0


@pytest.mark.slow
def test_make_ranker_builds_a_minilm_index_over_the_rules() -> None:
    from prover.synthesis.alchemy_rank import make_ranker
    from prover.synthesis.settings import AlchemySettings

    assert make_ranker(AlchemySettings(), [ADD, MUL]) is None
    rules = [Rule("Real.sqrt_sq", "∀ {x : ℝ}, 0 ≤ x → √(x ^ 2) = x"), MUL, ADD]
    ranker = make_ranker(AlchemySettings(rank="dense"), rules)
    order = [r.name for r in ranker.rank("x : ℝ\nhx : 0 ≤ x\n⊢ √(x ^ 2) = x", rules)]
    assert order[0] == "Real.sqrt_sq" and sorted(order) == sorted(r.name for r in rules)


def test_top_level_tactics_keep_nested_blocks_brackets_and_bullets_together() -> None:
    script = "have h : 1 = 1 := by\n  rfl\n-- a comment\nrefine ⟨?_,\n  ?_⟩\n· simp\n  ring\nexact h"
    assert top_level_tactics(script) == [
        "have h : 1 = 1 := by\n  rfl",
        "refine ⟨?_,\n  ?_⟩",
        "· simp\n  ring",
        "exact h",
    ]
    assert top_level_tactics("  omega\n") == ["omega"]


def _pairs_world() -> World:
    from tests.test_synth_alchemy import world

    return world()


def test_run_writes_pairs_that_build_train_reads(tmp_path: Path, capsys) -> None:
    from prover.cli.main import main
    from prover.training.sources import from_tactic_jsonl
    from tests.test_synth_alchemy import RULES
    from tests.test_synth_alchemy import TARGET as T1

    out = tmp_path / "run"
    counts, variants = run_alchemy(WorldSession(_pairs_world()), [T1], RULES, out, {})
    assert counts.verified == 2 and counts.pairs == 5
    lines = [json.loads(x) for x in (out / "tactics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["source"], x["step"]) for x in lines] == [
        ("alchemy-t1_alchemy_1/t1", 0), ("alchemy-t1_alchemy_1/t1", 1), ("alchemy-t1_alchemy_1/t1", 2),
        ("alchemy-t1_alchemy_2/t1", 0), ("alchemy-t1_alchemy_2/t1", 1),
    ]  # fmt: skip
    first = lines[0]
    assert first["goals"] == ["a b : ℕ\nh : a + b = 3\n⊢ a + b = 3"] and first["goal_id"] == 0
    assert first["tactic"] == "have h_old : b + a = 3 := by\n  omega"
    assert (first["target"], first["rule"], first["direction"], first["location"]) == (
        "t1",
        "Nat.add_comm",
        "→",
        "⊢",
    )
    examples = from_tactic_jsonl(out / "tactics.jsonl")
    # the split key is the target: every variant of `t1` lands on t1's side of the split
    assert {e.theorem for e in examples} == {"t1"} and examples[0].after == [lines[1]["goals"][0]]
    assert examples[2].after is None  # the last step of a proof
    assert (
        main(
            ["data", "build-train", "--out", str(tmp_path / "data"), "--tactics", str(out / "tactics.jsonl")]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    built = sum(1 for p in (tmp_path / "data").glob("tactic*.jsonl") for _ in p.open(encoding="utf-8"))
    assert built >= 5, summary
    # `--synth RUN` reads an Alchemy run directly: the pairs as tactic records, the variants as whole proofs
    assert main(["data", "build-train", "--out", str(tmp_path / "data2"), "--synth", str(out)]) == 0
    capsys.readouterr()
    from prover.training.records import ProofExample, TacticExample, read_records

    tactics = read_records(tmp_path / "data2" / "tactic.jsonl", TacticExample)
    proofs = read_records(tmp_path / "data2" / "proof.jsonl", ProofExample)
    assert len(tactics) == 5 and {t.provenance.source for t in tactics} == {"alchemy"}
    assert sorted(p.name or "" for p in proofs) == ["t1_alchemy_1", "t1_alchemy_2"]
    assert {p.theorem for p in proofs} == {"t1"} and len({p.split for p in proofs + tactics}) == 1
    assert all(p.proof.startswith(p.statement + " := by\n") for p in proofs)
    assert all(p.script() for p in proofs)  # the tactic script whole-proof training targets


def test_pairs_of_a_proof_that_does_not_replay_step_by_step_are_dropped_with_the_reason() -> None:
    from tests.test_synth_alchemy import world

    w = world()
    thm = Theorem("t1_alchemy_1", "theorem t1_alchemy_1 (a b : ℕ) (h : a + b = 3) : a + b = 3")
    steps, why = proof_steps(WorldSession(w), thm, "have h_old : b + a = 3 := by\n  omega\nsimp")
    assert steps == [] and why.startswith("step 1 (simp)")
    steps, why = proof_steps(WorldSession(w), thm, "have h_old : b + a = 3 := by\n  omega")
    assert steps == [] and why == "the steps leave goals open"
    v = {
        "verified": True,
        "name": "n",
        "target": "t",
        "rule": "r",
        "direction": "→",
        "location": "⊢",
        "steps": [],
    }
    assert tactic_lines([v, {**v, "verified": False, "steps": [{"step": 0}]}]) == []


def test_round_trip_rejections_are_counted_by_class() -> None:
    root = "x : ℕ\nh : 0 < x\n⊢ x + 0 = x"
    target = Target("t4", "theorem t4 (x : ℕ) (h : 0 < x) : x + 0 = x", "omega")
    w = World.from_data(
        {
            "theorems": [{"name": "t4", "statement": target.statement, "goals": [root]}],
            "goals": {
                root: {
                    "rw [R.add_zero]": {"goals": ["x : ℕ\nh : 0 < x\n⊢ ?m.12 = x"]},
                    "rw [← R.add_zero]": {"goals": ["x : ℕ\nh : 0 < x\n⊢ ↑(3 / 20) + 0 + 0 = x"]},
                    "rw [R.add_zero] at h": {"goals": ["x : ℕ\nh : 0 < ⋯\n⊢ x + 0 = x"]},
                }
            },
        }
    )
    counts = AlchemyCounts()
    variants = mutate(WorldSession(w), target, [ADD], counts)
    assert counts.rejected == {
        "round trip (metavariable)": 1,
        "round trip (coercion of a literal)": 1,
        "round trip (elided term)": 1,
    }
    assert all(not v["verified"] and v["reasons"][0].startswith("not rebuilt (") for v in variants)


def test_pp_options_go_into_the_header_and_only_option_names_are_accepted() -> None:
    [t] = with_pp_options([TARGET], ["pp.coercions.types"])
    assert t.header == "import Mathlib\nset_option pp.coercions.types true\n"
    with pytest.raises(AlchemyInputError, match="not a pretty-printer option"):
        with_pp_options([TARGET], ["pp.all true\naxiom cheat : False\n--"])
    from prover.lean.goal_statement import statement_from_goal

    # with pp.coercions.types the printed goal carries the coercion's type and reads back as it was
    res = statement_from_goal("n m : ℕ\nh : (↑n : ℤ) = ↑m\n⊢ (↑(n + 1) : ℤ) = (↑m : ℤ) + 1", "c")
    assert (
        res.ok and res.statement == "theorem c (n m : ℕ) (h : (↑n : ℤ) = ↑m) : (↑(n + 1) : ℤ) = (↑m : ℤ) + 1"
    )


def test_lean_file_merges_the_headers_and_names_each_variant_once() -> None:
    header = merged_header(["import A\nopen X\n", "import B\nopen X\nopen Y\n", "import A\n"])
    assert header == "import A\nimport B\nopen X\nopen Y\n"
    v = {"verified": True, "target": "t", "rule": "R", "direction": "←", "location": "h",
         "name": "t_alchemy_1", "statement": "theorem t_alchemy_1 : 1 = 1", "proof": "rfl"}  # fmt: skip
    text = lean_file(
        header,
        [
            v,
            {**v, "name": "t_alchemy_2", "statement": "theorem t_alchemy_2 : 2 = 2", "direction": "apply"},
            v,
            {**v, "verified": False},
        ],
    )
    assert text.startswith(header)
    assert "-- t: rw [← R] at h\ntheorem t_alchemy_1 : 1 = 1 := by\n  rfl" in text
    assert "-- t: apply R at h" in text and text.count("theorem t_alchemy_") == 2


def test_symbol_index_finds_exactly_the_rules_a_full_scan_keeps() -> None:
    from prover.synthesis.alchemy import SymbolIndex, _symbols, rule_keys
    from tests.test_synth_alchemy import RULES

    rules = [*RULES, ADD, MUL, Rule("Trivial.anything", "∀ (p : Prop), p → p")]  # no keys: always a candidate
    index = SymbolIndex(rules)
    for statement in (TARGET.statement, "theorem s (x : ℝ) (h : 0 ≤ x) : √(x ^ 2) = x", "theorem e : True"):
        target = Target("s", statement, "sorry")
        scan = [r for r in rules if rule_keys(r) <= _symbols(statement)]
        assert index.candidates(target) == scan
    assert [r.name for r in index.candidates(Target("e", "theorem e : True", ""))] == ["Trivial.anything"]


def test_a_kept_coercion_that_does_not_compile_is_counted_as_a_round_trip_failure() -> None:
    root = "n : ℕ\nh : 0 < n\n⊢ n + 0 = 5"
    target = Target("t5", "theorem t5 (n : ℕ) (h : 0 < n) : n + 0 = 5", "omega")
    goal = "n : ℕ\nh : 0 < n\n⊢ ↑n = 5"  # read back, `↑n` has no type to go to: Lean refuses it
    w = World.from_data(
        {
            "theorems": [{"name": "t5", "statement": target.statement, "goals": [root]}],
            "goals": {root: {"rw [R.add_zero]": {"goals": [goal]}}},
        }
    )
    counts = AlchemyCounts()
    [v] = mutate(WorldSession(w), target, [ADD], counts)
    assert not v["verified"] and v["statement"].endswith(": ↑n = 5")
    assert counts.rejected == {"round trip (coercion did not elaborate)": 1}
