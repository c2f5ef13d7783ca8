"""D-FPS prompts as the reference builds them (issue 22, point 6): the problem in words, the goal state, and the
reference's released demonstrations fetched at run time, or the project's own with a note saying so.

No network and no copy of the released file: the "released" rows here are synthetic, and the pinned checksum is
swapped for theirs where a test needs the loader to accept them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from prover.fps.check import FpsChecker
from prover.fps.problem import load_fps_file
from prover.fps.settings import SolverSettings
from prover.fps.solver import solve_problem
from prover.fps.statements import dfps_forward_theorem
from prover.generation import dfps_prompts
from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.generation.dfps_prompts import (
    EXAMPLES,
    DemonstrationsError,
    active_demonstrations,
    demonstrations_path,
    extract_step,
    load_demonstrations,
    without_comments,
)
from prover.generation.prompts import get_template
from prover.lean.doubles.session import WorldSession
from prover.search.factory import make_searcher

WORLDS = Path(__file__).parent / "data" / "worlds"
GOAL = "case h.mp\nanswer : ℕ\nh_answer : answer + 1 = 10\n⊢ ?w"
INFORMAL = "One more than a number is ten. What is the number?"


def _rows(n: int = 10) -> list[dict[str, str]]:
    """Synthetic stand-ins for the released rows (same fields, same shape)."""
    return [
        {
            "informal_problem": f"Synthetic problem number {i}: what is x?",
            "forward_context": f"answer : ℕ\nh_answer : answer = {i} + 0\n⊢ ?w",
            "formal_solution": f"-- reasoning line {i}\nhave h : answer = {i} := by\n  omega -- closes it\n\n"
            "exact h -- submit",
        }
        for i in range(n)
    ]


def _write(path: Path, rows: list[dict[str, str]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data cache of our own, and a fresh choice of demonstrations before and after the test."""
    monkeypatch.setenv("PROVER_CACHE", str(tmp_path))
    active_demonstrations.cache_clear()
    yield tmp_path
    active_demonstrations.cache_clear()


@pytest.fixture
def released(cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Ten synthetic rows in the cache where `prover data fetch` puts the released file, accepted as pinned."""
    rows = _rows()
    digest = _write(demonstrations_path(), rows)
    monkeypatch.setattr(dfps_prompts, "DEMONSTRATIONS_SHA256", digest)
    return rows


def test_the_cache_path_is_the_manifest_entrys() -> None:
    from prover.evaluation.manifest import cached_path, load_manifest

    entry = load_manifest().get(dfps_prompts.DEMONSTRATIONS_ENTRY)
    assert cached_path(entry) == demonstrations_path()
    assert entry.sha256 == dfps_prompts.DEMONSTRATIONS_SHA256
    assert entry.expected_count == dfps_prompts.DEMONSTRATIONS_COUNT
    assert entry.url and entry.revision in entry.url and entry.url.endswith(entry.files[0])


def test_prompts_show_the_informal_problem_and_the_released_demonstrations(released) -> None:
    request = GenerationRequest((GOAL,), informal=INFORMAL)
    icl = get_template("dfps_forward_icl").format(request)
    cot = get_template("dfps_forward_cot").format(request)
    assert active_demonstrations()[0] == "reference"
    for prompt in (icl, cot):
        # every demonstration, in the released order, each with its problem in words and its goal state
        at = [prompt.index(r["informal_problem"]) for r in released]
        assert at == sorted(at)
        assert all(r["forward_context"] in prompt for r in released)
        assert prompt.count("\n---\n") == len(released)
        # then this problem: in words, then its goal state without the case tag, then the proof header
        assert prompt.index(INFORMAL) > at[-1]
        assert prompt.index("answer : ℕ\nh_answer : answer + 1 = 10\n⊢ ?w") > prompt.index(INFORMAL)
        assert "case h.mp" not in prompt
        assert prompt.endswith("# Formal Proof\n")
        assert not any(ex.informal in prompt for ex in EXAMPLES)
    # in-context: the proofs without comments or blank lines; chain of thought: as released
    assert (
        "reasoning line 3" not in icl
        and "-- submit" not in icl
        and "have h : answer = 3 := by\n  omega\n" in icl
    )
    assert "-- reasoning line 3" in cot and "step by step" in cot and "step by step" not in icl


def test_without_the_released_file_the_own_demonstrations_are_used_and_the_log_says_so(
    cache, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="prover.generation.dfps_prompts"):
        prompt = get_template("dfps_forward_icl").format(GenerationRequest((GOAL,), informal=INFORMAL))
        get_template("dfps_forward_cot").format(GenerationRequest((GOAL,), informal=INFORMAL))
    assert active_demonstrations() == ("own", EXAMPLES)
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1  # once per process
    assert "prover data fetch fps_dfps_demonstrations" in notes[0] and "self-written" in notes[0]
    assert all(ex.informal in prompt and ex.goal in prompt for ex in EXAMPLES)
    assert INFORMAL in prompt and prompt.endswith("# Formal Proof\n")


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (None, "not in the cache"),
        (lambda p: p.write_text(p.read_text(encoding="utf-8") + "\n{}", encoding="utf-8"), "not the pinned"),
    ],
)
def test_a_missing_or_altered_file_is_refused_in_one_sentence(
    released, damage: Callable[[Path], object] | None, says: str
) -> None:
    path = demonstrations_path()
    if damage is None:
        path.unlink()
    else:
        damage(path)
    with pytest.raises(DemonstrationsError, match=says) as caught:
        load_demonstrations()
    assert "\n" not in str(caught.value) and "prover data fetch fps_dfps_demonstrations" in str(caught.value)
    assert active_demonstrations()[0] == "own"  # a file that does not check is never shown


def test_rows_are_checked_even_when_the_checksum_matches(cache, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows()
    rows[4]["forward_context"] = "answer : ℕ\n⊢ answer = 4"
    monkeypatch.setattr(dfps_prompts, "DEMONSTRATIONS_SHA256", _write(demonstrations_path(), rows))
    with pytest.raises(DemonstrationsError, match="line 5"):
        load_demonstrations()
    monkeypatch.setattr(dfps_prompts, "DEMONSTRATIONS_SHA256", _write(demonstrations_path(), _rows(9)))
    with pytest.raises(DemonstrationsError, match="9 demonstrations, expected 10"):
        load_demonstrations()


def test_comments_go_but_strings_and_code_stay() -> None:
    proof = 'have h : s = "a -- b" := by\n  rfl -- why\n\n/- block\ncomment -/\nexact h'
    assert without_comments(proof) == 'have h : s = "a -- b" := by\n  rfl\nexact h'


def test_the_answer_is_cut_where_the_model_starts_another_problem() -> None:
    completion = "```lean4\nhave h : answer = 9 := by\n  omega\nexact h\n```\n\n---\n\n# Informal Problem\n"
    completion += (
        '"""\nnext\n"""\n# Goal State\n```lean4\nx : ℕ\n⊢ ?w\n```\n# Formal Proof\n```lean4\nsimp\n```\n'
    )
    assert extract_step(completion) == "have h : answer = 9 := by\n  omega\nexact h"
    # a chat answer that names a bare value is read by its proof, not as `show 7`
    assert extract_step("The answer is below.\n```lean4\nexact h_answer\n```\nFinal answer: 7") == (
        "exact h_answer"
    )
    assert extract_step("**Submission:** `answer = 9`\n```lean4\nomega\n```") == "show answer = 9\nomega"
    assert extract_step("Final answer: Even answer\n```lean4\ndecide\n```") == "show Even answer\ndecide"


def test_the_informal_problem_reaches_the_request() -> None:
    problem = {p.id: p for p in load_fps_file(WORLDS / "fps_problems.jsonl").problems}["solved"]
    theorem = dfps_forward_theorem(problem)
    assert theorem.informal == problem.informal_problem != ""
    assert GenerationRequest.for_theorem(theorem, [GOAL]).informal == problem.informal_problem


class _FakeLLM(TacticGenerator):
    def __init__(self, template: str, reply: Callable[[str], list[str]]) -> None:
        self.template, self.reply, self.prompts = get_template(template), reply, []

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        out = []
        for request in requests:
            prompt = self.template.format(request)
            self.prompts.append(prompt)
            tactics = [self.template.extract_tactic(c) for c in self.reply(prompt)[:k]]
            out.append([Suggestion(-0.1 * (i + 1), t) for i, t in enumerate(tactics) if t])
        return out


@pytest.mark.parametrize("template", ["dfps_forward_icl", "dfps_forward_cot"])
def test_a_dfps_run_prompts_with_the_problem_in_words(released, template: str) -> None:
    problem = {p.id: p for p in load_fps_file(WORLDS / "fps_problems.jsonl").problems}["solved"]
    session = WorldSession(WORLDS / "fps_world.json", tactic_timeout_s=1.0, real_sleep=False)

    def reply(prompt: str) -> list[str]:
        if prompt.endswith("# Formal Proof\n") and problem.informal_problem in prompt:
            return ["```lean4\nshow answer = 9\nomega\n```\n\n---\n\n# Informal Problem\n"]
        return []

    model = _FakeLLM(template, reply)
    checker = FpsChecker(
        session,
        SolverSettings(
            mode="dfps", preflight_formal_answers=False, normal_form_probe=False, prove_backward=False
        ),
    )
    searcher = make_searcher({"name": "bfs", "max_expansions": 5, "num_sampled_tactics": 2})
    record = solve_problem(session, problem, searcher, model, checker)
    assert problem.informal_problem in model.prompts[0]
    assert released[0]["informal_problem"] in model.prompts[0]
    assert record.status == "solved", record.reason
    assert record.answer == "answer = 9"
