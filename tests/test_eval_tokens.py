"""Tokens per problem for tree search with ``generator=openai`` (``search=bfs``), not only for whole-proof
sampling: in the search stats, in every ``results.jsonl`` record, and in the report."""

from __future__ import annotations

from pathlib import Path

from prover.cli.main import main
from prover.evaluation.report import load_run, summary_json, write_report
from prover.evaluation.results import read_results
from prover.generation.fake_openai import Answer, FakeOpenAIServer

RIGHT = {"sample_add_zero": "simp", "sample_two_mul": "ring", "sample_lt_succ": "omega"}


def test_bfs_with_the_openai_generator_records_tokens_per_problem(tmp_path: Path) -> None:
    tactics = [
        Answer(("⊢ n + 0 = n:::",), (" simp", " decide", "simp")),
        Answer(("⊢ 2 * a = a + a:::",), (" ring", " simp")),
        Answer(("⊢ 4 ≤ n:::",), (" omega",)),
    ]
    run = tmp_path / "run"
    with FakeOpenAIServer(tactics) as server:
        args = [
            "benchmark=samples",
            "benchmark.limit=3",
            "backend=scripted",
            "generator=openai",
            f"generator.base_url={server.base_url}",
            "generator.model=fake-prover",
            "generator.profile=bfs_prover",
            "search=bfs",
            "search.num_sampled_tactics=4",
            "executor.workers=0",
        ]
        assert main(["prove", "--no-progress", "--out", str(run), *args]) == 0
        bodies = list(server.bodies)
    records = {r.problem: r for r in read_results(run / "results.jsonl").records}
    assert {name: r.proof for name, r in records.items()} == RIGHT
    # the fake server counts characters / 4; each problem asked for its own state's tactics
    for record in records.values():
        assert record.samples is None  # tree search: no whole-proof samples to carry the tokens
        assert record.prompt_tokens > 0 and record.completion_tokens > 0, record
        assert record.stats["prompt_tokens"] == record.prompt_tokens
        assert record.stats["completion_tokens"] == record.completion_tokens
    prompts = sum(len(b["prompt"]) // 4 for b in bodies)
    assert sum(r.prompt_tokens for r in records.values()) == prompts  # nothing counted twice or lost
    summary = load_run(run)
    assert summary_json(summary)["tokens"]["prompt"] == prompts
    text = write_report(run)["markdown"].read_text(encoding="utf-8")
    assert "Tokens reported by the model server:" in text and "per problem median" in text
