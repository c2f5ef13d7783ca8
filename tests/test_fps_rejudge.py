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
    rejudge_file,
    released_steps,
    solving_world,
)

SAMPLE = Path(__file__).parent / "data" / "fps_reference_sample"


def test_released_steps_are_one_line_each():
    record = {"search_result": {"proof": [{"goal_id": 1, "proof_step": "{\nnorm_num -- done\n}"}]}}
    assert released_steps(record) == ["{ norm_num }"]


def test_the_sample_is_rejudged_without_loss(tmp_path: Path):
    problems = index_problems(SAMPLE / "data" / "formal_math500.jsonl")
    base = SAMPLE / "baseline_results" / "proof_search" / "sample"
    solving = rejudge_file(base / "solving.formal_math500.jsonl", problems, tmp_path)
    assert solving.unmatched == 0 and not solving.lost
    assert solving.reference == solving.ours == {"solved": 1, "ne_submitted": 1, "unsubmitted": 1}
    proving = rejudge_file(base / "proving.formal_math500.jsonl", problems, tmp_path)
    assert proving.reference == proving.ours == {"proven": 1, "not_proven": 1} and not proving.lost


def test_the_world_refuses_what_the_reference_never_ran():
    """The worlds accept the released steps and nothing else: the substituted form has no transition."""
    problems = index_problems(SAMPLE / "data" / "formal_math500.jsonl")
    units = next(p for p in problems.values() if p.id == "sample_units")
    world = solving_world(units, ["norm_num", "rfl"], "4", True)
    root = world["theorems"][0]["goals"][0]
    assert list(world["goals"][root]) == ["apply Exists.intro"]


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
