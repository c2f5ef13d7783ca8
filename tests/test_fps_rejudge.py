"""The reference's released baseline solutions, re-judged by our decision logic on scripted worlds
(``prover.fps.rejudge``): none of what the reference counted (Solved, Proven) is lost.

The shipped sample (``tests/data/fps_reference_sample``) is self-written in the release's format. The real
release is used when ``FPS_REFERENCE`` names a copy of the reference's ``data/`` and ``baseline_results/``
(bench/README.md says how to write one); otherwise that test skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prover.fps.rejudge import (
    index_problems,
    reference_texts,
    rejudge_file,
    released_steps,
    same_text,
    solving_world,
)
from prover.fps.statements import fps_theorem, proving_theorem, rpe_command

SAMPLE = Path(__file__).parent / "data" / "fps_reference_sample"


def test_released_steps_are_one_line_each():
    record = {"search_result": {"proof": [{"goal_id": 1, "proof_step": "{\nnorm_num -- done\n}"}]}}
    assert released_steps(record) == ["{ norm_num }"]


def test_the_sample_is_rejudged_without_loss(tmp_path: Path):
    problems = index_problems(SAMPLE / "data" / "formal_math500.jsonl")
    base = SAMPLE / "baseline_results" / "proof_search" / "sample"
    solving = rejudge_file(base / "solving.formal_math500.jsonl", problems, tmp_path)
    assert solving.unmatched == 0 and not solving.lost
    assert solving.reference == solving.ours == {"solved": 2, "ne_submitted": 1, "unsubmitted": 1}
    proving = rejudge_file(base / "proving.formal_math500.jsonl", problems, tmp_path)
    assert proving.reference == proving.ours == {"proven": 1, "not_proven": 1} and not proving.lost


def test_the_world_refuses_what_the_reference_never_ran():
    """The worlds accept the released steps and nothing else: the substituted form has no transition."""
    problems = index_problems(SAMPLE / "data" / "formal_math500.jsonl")
    units = next(p for p in problems.values() if p.id == "sample_units")
    world = solving_world(units, ["norm_num", "rfl"], "4", True)
    root = world["theorems"][0]["goals"][0]
    assert list(world["goals"][root]) == ["apply Exists.intro"]


def test_our_texts_are_the_references_up_to_whitespace():
    """The worlds know the statements and the RPE proposition in the reference's text only."""
    problems = index_problems(SAMPLE / "data" / "formal_math500.jsonl")
    for p in problems.values():
        ref = reference_texts(p, "4")
        assert same_text(fps_theorem(p).statement.split(" :\n", 1)[1], ref["solving"])
        assert same_text(proving_theorem(p).statement.split(" :\n", 1)[1], ref["proving"])
        rpe = rpe_command(p, "4", ["rfl"]).split(" := by")[0].split(" :\n", 1)[1]
        assert same_text(rpe, ref["rpe"]), (rpe, ref["rpe"])
    assert not same_text("(\nTrue\n) ↔ (\n@Eq Prop answer True\n)", reference_texts(p, "True")["rpe"])


def test_the_prop_form_of_rpe_would_lose_a_prop_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Before issue 22's fix, FPS compared a Prop answer as ``(<sub>) ↔ (<formal_answer>)``: the reference's
    Solved Prop record of the sample (``sample_prop_solved``, answer ``True``) is then lost."""
    import prover.fps.check as check
    import prover.fps.rejudge as rejudge

    def before_the_fix(problem, submission, tactics=("rfl",), prop_form=False, max_heartbeats=None):
        prop = prop_form or problem.formal_answer_type.strip() == "Prop"
        return rpe_command(problem, submission, tactics, prop, max_heartbeats)

    monkeypatch.setattr(check, "rpe_command", before_the_fix)
    monkeypatch.setattr(rejudge, "rpe_command", before_the_fix)
    problems = index_problems(SAMPLE / "data" / "formal_math500.jsonl")
    base = SAMPLE / "baseline_results" / "proof_search" / "sample"
    solving = rejudge_file(base / "solving.formal_math500.jsonl", problems, tmp_path)
    assert [n for n, _ in solving.lost] == [4] and solving.ours["solved"] == 1


@pytest.mark.skipif(
    not os.environ.get("FPS_REFERENCE"), reason="FPS_REFERENCE (a copy of the release) not set"
)
def test_the_release_is_rejudged_without_loss(tmp_path: Path):
    root = Path(os.environ["FPS_REFERENCE"])
    files = sorted((root / "baseline_results").glob("proof_search/*/*.formal_math500.jsonl"))
    if not files:
        pytest.skip(f"no released proof-search results under {root}")
    problems = index_problems(root / "data" / "formal_math500.jsonl")
    for path in files:
        summary = rejudge_file(path, problems, tmp_path, limit=60)
        assert summary.unmatched == 0 and not summary.lost, summary.to_json()


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("FPS_REFERENCE"), reason="FPS_REFERENCE (a copy of the release) not set"
)
def test_every_released_file_is_rejudged_without_loss(tmp_path: Path):
    """All of it (≈ 7,000 records, about two minutes): ``bench/bench_fps.py --rejudge`` asserts the same."""
    root = Path(os.environ["FPS_REFERENCE"])
    indexes: dict[str, dict] = {}
    checked = 0
    for path in sorted((root / "baseline_results").glob("*/*/*.jsonl")):
        first = path.read_text(encoding="utf-8").lstrip()[:1]
        if first != "{":  # a pointer file of the release (its prompting-method results)
            continue
        bench = path.name.split(".")[1]
        if bench not in indexes:
            indexes[bench] = index_problems(root / "data" / f"{bench}.jsonl")
        summary = rejudge_file(path, indexes[bench], tmp_path)
        assert summary.unmatched == 0 and not summary.lost, summary.to_json()
        checked += 1
    assert checked > 0
