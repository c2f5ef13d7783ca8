"""D-FPS forward solving with an LLM prompt: the in-context / chain-of-thought templates on the ``mp`` goal,
the tolerant reader of the model's answer, and a run on the scripted world with a tiny fake model behind the
same template interface the transformers generator uses (format the request, extract from the continuation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from prover.fps.check import FpsChecker
from prover.fps.problem import load_fps_file
from prover.fps.settings import SolverSettings
from prover.fps.solver import solve_problem
from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.generation.dfps_prompts import extract_forward, extract_step
from prover.generation.prompts import get_template
from prover.lean.doubles.session import WorldSession
from prover.search.factory import make_searcher

WORLDS = Path(__file__).parent / "data" / "worlds"


class FakeLLM(TacticGenerator):
    """A stand-in for a causal LM: the real template formats each request, ``reply`` maps the prompt to
    continuations, and the template's extractor turns each into a tactic (as ``HFTacticGenerator`` does)."""

    def __init__(self, template: str, reply: Callable[[str], list[str]]) -> None:
        self.template = get_template(template)
        self.reply = reply
        self.prompts: list[str] = []

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        out = []
        for request in requests:
            prompt = self.template.format(request)
            self.prompts.append(prompt)
            tactics = [self.template.extract_tactic(c) for c in self.reply(prompt)[:k]]
            out.append([Suggestion(-0.1 * (i + 1), t) for i, t in enumerate(tactics) if t])
        return out


COT_REPLY = (
    " From h_answer, answer + 1 = 10, so subtracting one gives answer = 9.\n\n"
    "**Submission:** `answer = 9`\n\n```lean4\ntheorem x : True := by\n  omega\n```\n"
)


@pytest.mark.parametrize(
    ("text", "submission", "step"),
    [
        (COT_REPLY, "answer = 9", "show answer = 9\nomega"),
        ("Final answer: answer = 9.\n```lean\nby\n  omega", "answer = 9", "show answer = 9\nomega"),
        ("```lean4\nshow answer = 9\nomega\n```", "answer = 9", "show answer = 9\nomega"),
        (
            "h_submission := answer = 9 ∨ answer = 10\n",
            "answer = 9 ∨ answer = 10",
            "show answer = 9 ∨ answer = 10",
        ),
        ("I cannot solve this.", "", ""),
        ("```lean4\nomega\n```", "", "omega"),  # no submission: the proof alone (Lean judges it)
    ],
)
def test_tolerant_extractor(text, submission, step):
    found = extract_forward(text)
    assert found.submission == submission
    assert found.step() == step


def test_icl_continuation_is_the_proof():
    # the forward prompt ends at the proof header, as the reference's does (tests/test_dfps_prompts.py)
    assert extract_step("```lean4\nshow answer = 9\nomega\n```") == "show answer = 9\nomega"
    assert extract_step("\n```lean4\nomega\n```") == "omega"
    assert extract_step("no idea") == ""  # no proof block: nothing to try


def test_templates_show_the_mp_goal_with_examples():
    request = GenerationRequest(
        ("case h\nanswer : ℕ\nh_answer : answer + 1 = 10\n⊢ ?w",), statement="theorem t : STATEMENT"
    )
    icl = get_template("dfps_forward_icl").format(request)
    cot = get_template("dfps_forward_cot").format(request)
    for prompt in (icl, cot):
        assert prompt.count("# Formal Proof\n```lean4\n") >= 2  # the worked examples: see test_dfps_prompts
        assert prompt.index("h_answer : answer + 1 = 10") > prompt.rindex("\n---\n")
        assert prompt.endswith("# Formal Proof\n")
    assert "step by step" in cot and "step by step" not in icl


@pytest.mark.parametrize("template", ["dfps_forward_cot", "dfps_forward_icl"])
def test_dfps_forward_solving_with_a_prompted_model(template):
    """The fake model answers only when shown the mp goal; its answer is parsed, searched as one step, and the
    submission goes through the final check (substituted recompile, RPE) to solved."""
    problem = {p.id: p for p in load_fps_file(WORLDS / "fps_problems.jsonl").problems}["solved"]
    session = WorldSession(WORLDS / "fps_world.json", tactic_timeout_s=1.0, real_sleep=False)

    def reply(prompt: str) -> list[str]:
        if prompt.endswith("Proof:\n") and "⊢ ∀ (answer : ℕ), answer = 9 → answer + 1 = 10" in prompt:
            return ["```lean4\nintro answer h\nomega\n```"]  # the backward (mpr) direction
        if not prompt.endswith("# Formal Proof\n") or "⊢ ?w" not in prompt:
            return []
        if template.endswith("icl"):
            return ["```lean4\nshow answer = 9\nomega\n```", "nonsense"]
        return [COT_REPLY, "no idea"]

    model = FakeLLM(template, reply)
    checker = FpsChecker(
        session, SolverSettings(mode="dfps", preflight_formal_answers=False, normal_form_probe=False)
    )
    searcher = make_searcher({"name": "bfs", "max_expansions": 5, "num_sampled_tactics": 2})
    record = solve_problem(session, problem, searcher, model, checker)
    assert model.prompts and "h_answer : answer + 1 = 10" in model.prompts[0]
    assert record.status == "solved", record.reason
    assert record.answer == "answer = 9"
    assert "show answer = 9\nomega" in record.proof
    # the same model, shown the backward goal with the proving prompt, proves it: Proven
    assert record.backward["status"] == "proved" and record.backward["proof"] == "intro answer h\nomega"
