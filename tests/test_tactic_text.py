"""A tactic sequence is sent to the REPL's tactic mode as one ``(seq)`` tactic (the REPL parses one tactic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_scripted_world import converse

from prover.lean.factory import make_session
from prover.lean.tactic_text import as_single_tactic, is_tactic_sequence, unwrap_single_tactic
from prover.lean.types import ProofFinished, TacticState, Theorem

SHARED_STEPS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "tactics" / "fps-search-proof-steps.jsonl"
)


@pytest.mark.parametrize(
    ("tactic", "sequence"),
    [
        ("rw [h₀]; norm_num", True),
        ("constructor; exact hp; exact hq", True),
        ("have h : 0 < 2 := by norm_num; linarith", True),  # harmless: parses the same inside `( … )`
        ("constructor <;> assumption", False),  # `<;>` is one token
        ("exact (by simp; ring)", False),  # inside brackets
        ("simp [foo, bar]", False),
        ("nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]", False),
        ("simp -- a comment; not code", False),
        ('exact "a;b"', False),  # inside a string
        ("have h : P := by\n  simp\n  ring", False),  # one tactic over several lines
        ("simp; exact (", False),  # unbalanced: our `)` would close its `(` (`exact ()`), so never wrapped
        ("simp; exact h)", False),
        ("simp) ; (ring", False),
    ],
)
def test_what_counts_as_a_sequence(tactic: str, sequence: bool) -> None:
    assert is_tactic_sequence(tactic) is sequence
    sent = as_single_tactic(tactic)
    assert (sent != tactic) is sequence
    assert unwrap_single_tactic(sent) == tactic


def test_the_wrapping_survives_a_trailing_line_comment() -> None:
    sent = as_single_tactic("simp; ring -- done")
    assert sent == "(simp; ring -- done\n)"  # the `)` is on its own line, out of the comment's reach


def test_unwrap_leaves_user_parentheses_alone() -> None:
    assert unwrap_single_tactic("(simp)") == "(simp)"
    assert unwrap_single_tactic("(simp; ring)") == "(simp; ring)"  # not our form: sent by the user as is


@pytest.mark.skipif(not SHARED_STEPS.is_file(), reason="needs ../shared/data/tactics")
def test_real_steps_round_trip_and_sequences_are_found() -> None:
    tactics = [json.loads(line)["tactic"] for line in SHARED_STEPS.read_text(encoding="utf-8").splitlines()]
    wrapped = [t for t in tactics if as_single_tactic(t) != t]
    assert all(unwrap_single_tactic(as_single_tactic(t)) == t for t in tactics)
    # The real steps come from a one-tactic-per-step interface too: their top-level `;` all sit in a nested
    # `by` (`exact fun _ h ↦ by rw [h]; norm_num`), which parses the same inside `( … )`.
    assert 40 <= len(wrapped) <= 70
    assert all(" by " in t or "by\n" in t for t in wrapped)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    root = "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q"
    data = {
        "theorems": [
            {
                "name": "t_and",
                "statement": "theorem t_and (p q : Prop) (hp : p) (hq : q) : p ∧ q",
                "header": "import Mathlib\n",
                "goals": [root],
            }
        ],
        "goals": {root: {"constructor; exact hp; exact hq": {"goals": []}}},
    }
    path = tmp_path / "world.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_repl_double_refuses_a_bare_sequence_as_the_real_repl_does(world: Path) -> None:
    out, rc = converse(
        world,
        [
            {"cmd": "import Mathlib\n"},
            {"cmd": "theorem t_and (p q : Prop) (hp : p) (hq : q) : p ∧ q := by sorry", "env": 0},
            {"tactic": "constructor; exact hp; exact hq", "proofState": 0},
            {"tactic": "(constructor; exact hp; exact hq\n)", "proofState": 0},
        ],
    )
    assert rc == 0
    assert "expected end of input" in out[2]["message"]
    assert out[3]["proofStatus"] == "Completed" and out[3]["goals"] == []


@pytest.mark.parametrize("in_process", [False, True], ids=["repl-subprocess", "in-process"])
def test_a_sequence_step_runs_through_the_session(world: Path, in_process: bool) -> None:
    with make_session({"name": "scripted", "world": str(world), "in_process": in_process}) as session:
        root = session.start(Theorem("t_and", "theorem t_and (p q : Prop) (hp : p) (hq : q) : p ∧ q"))
        assert isinstance(root, TacticState)
        done = session.run_tactic(root, "constructor; exact hp; exact hq")
        assert isinstance(done, ProofFinished), done
        assert done.path == ("constructor; exact hp; exact hq",)  # the path keeps the step as generated
