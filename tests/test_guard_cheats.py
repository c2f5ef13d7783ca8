"""The guard as a fail-closed pre-filter (issue 19): the new round's cheats are refused, their honest twins pass.

``tests/data/cheats/{cheats,honest}.jsonl`` (written for this project): one case a line with its ``class``, the
``check`` it goes through (``tactic``: a search step, ``proof``: a whole proof of :data:`THM`, ``statement``: a
model-written statement) and, for cheats, ``why`` it is one. Lean's own sources the rules follow:
``src/Lean/Elab/Tactic/Config.lean`` (config values are elaborated and *evaluated*), ``src/Init/Tactics.lean``
(``valConfigItem``/``posConfigItem``), ``Lean/Parser/Basic.lean`` (``identFnAux``/``isToken``: a token at least
as long as the identifier wins, so ``eval%`` is one token) and ``Lean/Parser/Module.lean`` (``parseCommand``:
after an error, parsing resumes token by token at the next command).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.lean.guard import (
    check_proof,
    check_statement,
    check_tactic,
    default_tactic_guard,
    make_tactic_guard,
)
from prover.lean.lexer import code_tokens
from prover.lean.types import Theorem

DATA = Path(__file__).parent / "data" / "cheats"
THM = Theorem("t", "theorem t (n : ℕ) (h : 0 < n) : n + 0 = n")


def _rows(name: str) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line]
    assert all(
        row["text"] and row["class"] and row["check"] in ("tactic", "proof", "statement") for row in rows
    )
    return rows


CHEATS = _rows("cheats.jsonl")
HONEST = _rows("honest.jsonl")


def _refusals(case: dict[str, str]) -> list[str]:
    """Reasons every gate the case goes through gives (a tactic also as a whole proof script)."""
    text = case["text"]
    if case["check"] == "statement":
        return list(check_statement(text).reasons)
    if case["check"] == "proof":
        return check_proof(THM, text)
    return [*default_tactic_guard()(text), *check_proof(THM, text)]


def _id(case: dict[str, str]) -> str:
    return f"{case['class']}:{case['text'][:40]!r}"


@pytest.mark.parametrize("case", CHEATS, ids=_id)
def test_every_cheat_of_the_new_round_is_refused(case: dict[str, str]) -> None:
    assert _refusals(case), f"accepted a cheat ({case['class']}: {case['why']})"


@pytest.mark.parametrize("case", HONEST, ids=_id)
def test_every_honest_twin_is_accepted(case: dict[str, str]) -> None:
    assert _refusals(case) == [], case["text"]


def test_the_corpus_covers_every_class_of_the_issue() -> None:
    classes = {c["class"] for c in CHEATS}
    assert {
        "config-code",
        "positional-config",
        "function-config",
        "simproc_decl",
        "set_premise_selector",
        "test_extern",
        "variables",
        "recovery",
        "eval%",
        "unsafe",
        "statement-modifier",
        "statement-by",
        "mustard-proof",
        # the red-team review's classes (/tmp/review/redteam.md F1-F3, F5, F8)
        "aesop-simp-config",
        "grind-exp",
        "grind-on-failure",
        "open-list",
        "set_option-value",
        "statement-unknown-command",
    } <= classes
    assert {"config-literal", "named-argument", "statement", "proof"} <= {c["class"] for c in HONEST}


def test_the_issues_honest_shapes_pass_every_gate() -> None:
    for tactic in (
        "simp (config := { decide := true })",
        "decide +kernel",
        "omega",
        "norm_num [foo] at h ⊢",
        "simp (config := {maxSteps := 100000})",
        "nlinarith [sq_nonneg (a - b)]",
    ):
        assert check_tactic(tactic) == [] and default_tactic_guard()(tactic) == [], tactic
        assert check_proof(THM, tactic) == []


def test_ident_percent_is_one_token_as_in_leans_token_table() -> None:
    # Lean/Parser/Basic.lean identFnAux + isToken: `eval%` (a token) is longer than `eval` (the identifier)
    assert [(t.kind, t.text) for t in code_tokens("eval% x")] == [("percent", "eval%"), ("ident", "x")]
    assert [t.text for t in code_tokens("a % b")] == ["a", "%", "b"]
    assert [t.text for t in code_tokens("%[1, 2]")][0] == "%["
    # the identifier's longest token wins over a `%[` after it: `eval%` then `[`
    assert [(t.kind, t.text) for t in code_tokens("eval%[1]")][:2] == [("percent", "eval%"), ("symbol", "[")]
    assert any("eval%" in r for r in check_tactic("exact eval% 1"))
    assert check_tactic("exact binop% HAdd.hAdd a b") == []  # an allow-listed harmless elaborator keyword


def test_config_values_only_literals_named_arguments_stay_terms() -> None:
    # Config.lean: `(config := v)` and `(opt := v)` are elaborated and evaluated
    assert check_tactic("simp (config := { zeta := false, decide := true, maxSteps := 5 })") == []
    assert check_tactic("simp (config := { arith := { } })") == []
    assert "config item 'config'" in check_tactic("simp (config := ⟨⟩)")[0]
    assert "config item 'kernel'" in check_tactic("decide (kernel := id true)")[0]
    # a function's named argument is an ordinary term (not evaluated): still scanned, not a config
    assert check_tactic("exact Nat.lt_of_le_of_lt (m := n + 1) h h'") == []
    assert check_tactic("exact Nat.lt_of_le_of_lt (m := sorry) h h'")


def test_unknown_line_start_words_are_refused_only_in_tactic_blocks() -> None:
    assert default_tactic_guard()("simp\nsome_command x")
    assert check_tactic("simp\nsome_command x", block=True)
    # a term (an FPS submission, a statement's type) is not a tactic block
    assert check_tactic("f x\nsqrt 2") == [] and check_tactic("f x\nsqrt 2", block=True)
    # the first line is one tactic (REPL tactic mode; scripted worlds name their own tactics)
    assert check_tactic("trust_me", block=True) == []
    # deeper lines continue the previous tactic's term
    assert check_tactic("exact foo\n  bar_baz h", block=True) == []


def test_statement_heads_must_be_plain_for_model_text_only() -> None:
    assert check_statement("theorem t : True").accepted
    refused = check_statement("@[simp] theorem t : True")
    assert not refused.accepted and "theorem' or 'lemma'" in refused.reasons[0]
    # a benchmark's own statement may carry attributes, never trust-adding ones
    assert check_statement("@[simp] theorem t : True", model_written=False).accepted
    assert not check_statement("@[implemented_by f] theorem t : True", model_written=False).accepted
    assert not check_statement("theorem t : True := trivial").accepted
    assert not check_statement("theorem t : (by exact True)").accepted


def test_tactic_guard_carries_its_options() -> None:
    guard = make_tactic_guard({"allow_native_decide": True})
    assert guard.options.allow_native_decide and guard("native_decide") == []


# --- acceptance on real, Lean-verified model proofs (held out) -----------------------------------------
#: The issue's earlier figure: the share of real model proofs the guard accepted (the rest restated the theorem).
EARLIER_ACCEPTANCE = 0.979
REAL_STEPS = Path("tactics") / "fps-search-proof-steps.jsonl"


def held_out(source: str) -> bool:
    """One proof in five, by a stable hash of its source: never looked at while writing the guard's rules."""
    import hashlib

    return hashlib.sha256(source.encode("utf-8")).digest()[0] % 5 == 0


def real_proofs(path: Path) -> dict[str, list[str]]:
    """The proofs of ``fps-search-proof-steps.jsonl`` (InternLM2.5-StepProver and Lean-STaR searches that real
    Lean 4.15 + Mathlib verified): each source's tactics in step order."""
    steps: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            steps.setdefault(row["source"], []).append((int(row["step"]), row["tactic"]))
    return {source: [t for _, t in sorted(rows)] for source, rows in steps.items()}


def acceptance(proofs: dict[str, list[str]]) -> tuple[float, float, list[str]]:
    """(share of whole proofs accepted, share of steps accepted, refused proofs) with the default options: every
    step as a search step (``TacticGuard``), the whole proof as a ``by`` block (``check_proof``)."""
    guard = default_tactic_guard()
    thm = Theorem("real", "theorem real : True")
    refused, steps, steps_ok = [], 0, 0
    for source, tactics in proofs.items():
        steps += len(tactics)
        ok_steps = [not guard(t) for t in tactics]
        steps_ok += sum(ok_steps)
        script = "by\n" + "\n".join("  " + line for t in tactics for line in t.split("\n"))
        if not all(ok_steps) or check_proof(thm, script):
            refused.append(source)
    return 1 - len(refused) / max(1, len(proofs)), steps_ok / max(1, steps), refused


@pytest.mark.shared
def test_real_model_proofs_held_out_are_still_accepted(shared_data: Path) -> None:
    path = shared_data / REAL_STEPS
    if not path.exists():
        pytest.skip(f"missing {path}")
    proofs = {s: t for s, t in real_proofs(path).items() if held_out(s)}
    assert len(proofs) >= 200  # about a fifth of 1,373
    whole, steps, refused = acceptance(proofs)
    assert whole >= EARLIER_ACCEPTANCE and steps >= EARLIER_ACCEPTANCE, refused[:10]


def main() -> None:
    """``python tests/test_guard_cheats.py [SHARED_DATA]``: the acceptance figures for bench/README."""
    import sys

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    proofs = real_proofs(root / REAL_STEPS)
    import time

    for name, part in (
        ("held-out", {s: t for s, t in proofs.items() if held_out(s)}),
        ("all", proofs),
    ):
        t0 = time.perf_counter()
        whole, steps, refused = acceptance(part)
        per_proof_ms = (time.perf_counter() - t0) * 1000 / max(1, len(part))
        print(
            f"{name}: {len(part)} proofs, {sum(len(t) for t in part.values())} steps; "
            f"accepted {whole:.1%} of proofs, {steps:.1%} of steps ({per_proof_ms:.2f} ms a proof, steps and "
            f"whole proof); refused: {refused[:5]}"
        )
    print(f"cheats refused: {sum(bool(_refusals(c)) for c in CHEATS)}/{len(CHEATS)}; "
          f"honest accepted: {sum(not _refusals(c) for c in HONEST)}/{len(HONEST)}")  # fmt: skip


if __name__ == "__main__":
    main()


@pytest.mark.parametrize(
    "command", ["variables (t : False)", "variable (t : False)", "variable? (t : False)"]
)
def test_no_gate_lets_a_variable_binder_reach_the_repl(command: str) -> None:
    """A leftover ``variables (NAME : T)`` in a REPL env would make the statement check ``example … := @NAME``
    vacuous (``REPL/Main.lean`` keeps each command's env): every text that can reach a command refuses it,
    wherever it sits (after the proof, inside brackets, in a statement's binders or type)."""
    assert check_tactic(f"simp\n{command}", block=True)
    assert check_tactic(f"exact (h\n{command})")  # an FPS submission or a term
    assert check_proof(THM, f"{THM.statement} := by\n  simp\n{command}")
    assert check_proof(THM, f"by\n  nlinarith [h,\n  {command}]")
    for model_written in (True, False):
        assert not check_statement(
            f"theorem t (h : ({command})) : True", model_written=model_written
        ).accepted


def test_every_command_keyword_of_lean_and_mathlib_is_refused_wherever_lean_would_recover() -> None:
    """After a parse error Lean's parser resumes at the next token where a command parses, also inside
    brackets (``parseCommand``, ``src/Lean/Parser/Module.lean``): every command keyword of the listing is
    refused there, as a line of a tactic block, and in a statement's type."""
    words = [
        line.strip()
        for line in (DATA / "command_keywords.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(words) >= 140
    for word in words:
        assert check_tactic(f"exact (h\n{word} x)"), word
        assert default_tactic_guard()(f"simp\n{word} x"), word
        assert check_proof(THM, f"by\n  nlinarith [h,\n  {word} x]"), word
        assert not check_statement(f"theorem t (h : ({word} x)) : True", model_written=False).accepted, word
