"""Prompt profiles: each exact prompt against the text published in the models' evaluation code and cards (as quoted
in issue 21), extraction on realistic outputs, and the repair turns' error formats."""

from __future__ import annotations

import pytest

from prover.generation.base import GenerationRequest
from prover.generation.profiles import (
    PROFILES,
    STANDARD_HEADER,
    extract_goedel,
    extract_kimina,
    get_profile,
    goedel_repair_turn,
    kimina_repair_turn,
)
from prover.generation.settings import GeneratorConfigError
from prover.lean.types import LeanDiagnostic, Theorem

# --- the published texts, written out by hand from the issue (never built with the code under test) ----------
HEADER = (
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
)
STATEMENT = "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3"
THEOREM = Theorem("mathd_algebra_10", STATEMENT, HEADER, informal="If $2x = 6$, what is $x$? Show it is 3.")

DEEPSEEK_COT = (
    "Complete the following Lean 4 code:\n\n```lean4\n"
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
    "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by\n  sorry\n```\n\n"
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan "
    "outlining the main proof steps and strategies.\n"
    "The plan should highlight key ideas, intermediate lemmas, and proof structures that will guide the "
    "construction of the final formal proof."
)
DEEPSEEK_RAW = (
    "Complete the following Lean 4 code:\n\n```lean4\n"
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
    "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by"
)
KIMINA_SYSTEM = (
    "You are an expert programmer and mathematician who helps formalizing mathematical problems in Lean 4."
)
KIMINA_USER = (
    "Think about and solve the following problems step by step in Lean 4.\n\n"
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
    "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by sorry"
)
PREVIEW_SYSTEM = "You are an expert in mathematics and Lean 4."
PREVIEW_USER = (
    "Think about and solve the following problem step by step in Lean 4.\n"
    "# Problem:If $2x = 6$, what is $x$? Show it is 3.\n"
    "# Formal statement:\n```lean4\n"
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
    "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by\n```\n"
)
GOEDEL_HEAD = (
    "The proof (Round 0) is not correct. Following is the compilation error message, where we use "
    "<error></error> to signal the position of the error."
)
GOEDEL_TAIL = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed analysis of the "
    "error message."
)


def test_standard_header_is_the_published_one() -> None:
    assert STANDARD_HEADER == HEADER


def test_deepseek_v2_cot_is_one_user_turn_without_system_prompt() -> None:
    assert PROFILES["deepseek_v2_cot"].messages(THEOREM) == [{"role": "user", "content": DEEPSEEK_COT}]
    assert PROFILES["deepseek_v2_cot"].api == "chat"


def test_goedel_v2_uses_the_deepseek_cot_text_under_the_chat_template() -> None:
    profile = PROFILES["goedel_v2"]
    assert profile.messages(THEOREM) == [{"role": "user", "content": DEEPSEEK_COT}]
    assert (profile.temperature, profile.top_p, profile.max_tokens) == (1.0, 0.95, 32768)


def test_deepseek_v2_non_cot_is_a_raw_completion_ending_right_after_by() -> None:
    profile = PROFILES["deepseek_v2"]
    assert profile.api == "completions" and profile.prompt(THEOREM) == DEEPSEEK_RAW
    assert profile.prompt(THEOREM).endswith(":= by") and "```" in profile.stop


def test_kimina_system_and_user_turns() -> None:
    assert PROFILES["kimina"].messages(THEOREM) == [
        {"role": "system", "content": KIMINA_SYSTEM},
        {"role": "user", "content": KIMINA_USER},
    ]
    kimina = PROFILES["kimina"]
    assert 0.6 <= kimina.temperature <= 0.8 and kimina.top_p == 0.95 and 8096 <= kimina.max_tokens <= 16000


def test_kimina_preview_shows_the_informal_problem() -> None:
    assert PROFILES["kimina_preview"].messages(THEOREM) == [
        {"role": "system", "content": PREVIEW_SYSTEM},
        {"role": "user", "content": PREVIEW_USER},
    ]


def test_bfs_prover_tactic_prompt_is_state_then_marker() -> None:
    profile = PROFILES["bfs_prover"]
    request = GenerationRequest(goals=("x : ℝ\nh : 2 * x = 6\n⊢ x = 3",))
    assert profile.mode == "tactic" and profile.tactic_prompt(request) == "x : ℝ\nh : 2 * x = 6\n⊢ x = 3:::"
    assert profile.extract_tactic(" linarith\nnorm_num:::") == "linarith"


def test_unknown_profile_is_one_sentence_listing_the_known() -> None:
    with pytest.raises(GeneratorConfigError, match="unknown generator.profile 'gpt'.*goedel_v2"):
        get_profile("gpt")


# --- extraction ------------------------------------------------------------------------------------------------
GOEDEL_OUTPUT = """### Proof plan
First isolate x. A sketch:
```lean4
theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by
  sorry
```
Now the full proof.
```lean4
import Mathlib
import Aesop

theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by
  have h2 : x = 6 / 2 := by
    linarith
  norm_num [h2]
```
"""


def test_goedel_takes_the_last_lean4_block_and_reattaches_the_dataset_statement() -> None:
    assert extract_goedel(GOEDEL_OUTPUT, THEOREM) == "have h2 : x = 6 / 2 := by\n  linarith\nnorm_num [h2]"


def test_goedel_falls_back_to_a_lean_block_and_ignores_a_truncated_block() -> None:
    text = "Plan.\n```lean\ntheorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by linarith\n```\n"
    assert extract_goedel(text, THEOREM) == "linarith"
    truncated = GOEDEL_OUTPUT + "\nLet me refine:\n```lean4\nimport Mathlib\ntheorem mathd_algebra_10 (x"
    assert extract_goedel(truncated, THEOREM) == "have h2 : x = 6 / 2 := by\n  linarith\nnorm_num [h2]"
    assert extract_goedel("I could not find a proof.", THEOREM) is None


def test_a_restated_statement_never_replaces_the_dataset_one() -> None:
    weaker = "```lean4\nimport Mathlib\ntheorem mathd_algebra_10 (x : ℝ) : True := by\n  trivial\n```"
    # the model changed the statement: its script is kept, but it will be checked under the dataset statement
    assert extract_goedel(weaker, THEOREM) == "trivial"


KIMINA_OUTPUT = """<think>
The equation 2x = 6 gives x = 3. In Lean:
```lean4
import Mathlib
theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by
  nlinarith
```
but linarith suffices.
</think>
Here is the proof.
```lean4
import Mathlib
import Aesop

theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by
  linarith
```
Check with `#eval`:
```lean4
#eval 6 / 2
```
"""


def test_kimina_strips_think_and_takes_the_last_full_block() -> None:
    assert extract_kimina(KIMINA_OUTPUT, THEOREM) == "linarith"


def test_kimina_output_cut_while_thinking_has_no_proof() -> None:
    cut = "<think>\nLet me try\n```lean4\nimport Mathlib\ntheorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by\n  linarith\n```\nHmm"
    assert extract_kimina(cut, THEOREM) is None


def test_deepseek_non_cot_continuation_is_the_proof() -> None:
    extract = PROFILES["deepseek_v2"].extract
    assert extract is not None
    assert extract("\n  nlinarith [h]\n  <;> simp\n```", THEOREM) == "nlinarith [h]\n<;> simp"


# --- repair turns ----------------------------------------------------------------------------------------------
COMPILED = (
    "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by\n"
    "  have h2 : x = 6 / 2 := by\n"
    "    linarith\n"
    "  norm_num at h2\n"
    "  exact h9"
)
ERRORS = (
    LeanDiagnostic(4, 2, 4, 16, "linarith failed"),
    LeanDiagnostic(5, 8, 5, 10, "unknown identifier 'h9'", goal_before="x : ℝ\nh : 2 * x = 6\n⊢ x = 3"),
)
SHORT = Theorem("mathd_algebra_10", STATEMENT, "import Mathlib\n")


def test_goedel_repair_turn_marks_errors_with_context() -> None:
    expected = (
        GOEDEL_HEAD + "\n\n"
        "Error 1:\n```lean4\n"
        "import Mathlib\n"
        "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by\n"
        "  have h2 : x = 6 / 2 := by\n"
        "    linarith\n"
        "  <error>norm_num at h2</error>\n"
        "```\nError Message: linarith failed\n\n"
        "Error 2:\n```lean4\n"
        "theorem mathd_algebra_10 (x : ℝ) (h : 2 * x = 6) : x = 3 := by\n"
        "  have h2 : x = 6 / 2 := by\n"
        "    linarith\n"
        "  norm_num at h2\n"
        "  exact <error>h9</error>\n"
        "```\nError Message: unknown identifier 'h9'\n\n" + GOEDEL_TAIL
    )
    assert goedel_repair_turn(0, SHORT, COMPILED, ERRORS) == expected


def test_goedel_shows_at_most_eight_errors_and_marks_multiline_spans() -> None:
    many = [LeanDiagnostic(2, 2, 3, 12, f"error {i}") for i in range(10)]
    turn = goedel_repair_turn(1, SHORT, COMPILED, many)
    assert turn.startswith("The proof (Round 1) is not correct.")
    assert turn.count("Error Message:") == 8 and "Error 8:" in turn and "Error 9:" not in turn
    assert "[Omitted 2 more errors]" in turn
    assert "  <error>have h2 : x = 6 / 2 := by\n    linarith</error>" in turn


def test_kimina_repair_turn_has_goal_message_and_numbered_snippet() -> None:
    turn = kimina_repair_turn(0, SHORT, COMPILED, [*ERRORS, *ERRORS])
    assert turn.count("Goals state before error position:") == 3  # at most three errors
    second = turn.split("Error 2:\n", 1)[1].split("\n\nError 3:", 1)[0]
    assert second == (
        "Goals state before error position:\nx : ℝ\nh : 2 * x = 6\n⊢ x = 3\n"
        "Error message:\nunknown identifier 'h9'\n"
        "Code snippet:\n4:     linarith\n5:   norm_num at h2\n6:   exact h9"
    )
    assert (
        "Goals state before error position:\n(not available)\n" in turn
    )  # no goal known: said, not invented


def test_the_prompt_shows_the_standard_header_and_keeps_the_datasets_own_lines() -> None:
    from prover.generation.profiles import prompt_theorem

    putnam = Theorem(
        "p", "theorem p : p_solution = 6", "import Mathlib\n\nopen Nat\n\nabbrev p_solution : ℕ :=\n  6\n"
    )
    shown = prompt_theorem(putnam)
    assert shown.header == HEADER + "\nopen Nat\n\nabbrev p_solution : ℕ :=\n  6\n"
    assert shown.statement == putnam.statement and prompt_theorem(putnam, "dataset") == putnam
    # a dataset already on the standard header is shown it once; its own heartbeat limit is not shown
    assert prompt_theorem(THEOREM).header == HEADER
    finite = Theorem("t", STATEMENT, "import Mathlib\nset_option maxHeartbeats 400000\nopen Real\n")
    assert prompt_theorem(finite).header == HEADER + "\nopen Real\n"
