"""``prover prove benchmark=samples backend=scripted generator=openai search=whole_proof`` against a fake
OpenAI-compatible server: repair rounds turn Lean's errors into the next turn, a killed run resumes per sample
(no judged sample lost, no journaled draw asked again), and the report shows pass@k and the coverage curve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.evaluation.report import load_run, summary_json, write_report
from prover.evaluation.results import read_results
from prover.generation.fake_openai import Answer, FakeOpenAIServer

# the scripted world of datasets/samples: `decide`, `simp`, `simp` fail on these goals; `simp`, `ring`, `omega` prove
WRONG = {"sample_add_zero": "decide", "sample_two_mul": "simp", "sample_lt_succ": "simp"}
RIGHT = {"sample_add_zero": "simp", "sample_two_mul": "ring", "sample_lt_succ": "omega"}
STATEMENTS = {
    "sample_add_zero": "theorem sample_add_zero (n : ℕ) : n + 0 = n",
    "sample_two_mul": "theorem sample_two_mul (a : ℤ) : 2 * a = a + a",
    "sample_lt_succ": "theorem sample_lt_succ (n : ℕ) (h : 3 < n) : 4 ≤ n",
}


def _answer(name: str, tactic: str) -> str:
    return (
        f"<think>Try `{tactic}`.\n```lean4\n{STATEMENTS[name]} := by\n  sorry\n```</think>\n"
        f"### Proof\n```lean4\nimport Mathlib\n\n{STATEMENTS[name]} := by\n  {tactic}\n```\n"
    )


def answers() -> list[Answer]:
    repairs = [Answer(("is not correct", n), (_answer(n, RIGHT[n]),)) for n in RIGHT]
    first = [Answer((n,), (_answer(n, WRONG[n]), "I am not sure how to prove this.")) for n in WRONG]
    return repairs + first


class SlowRepairs(FakeOpenAIServer):
    """Repair turns take a while, so a run can be killed between a round's verdicts and the next round."""

    repair_delay_s = 0.0

    def choices(self, text: str, n: int) -> list[tuple[str, str]]:
        if "is not correct" in text:
            self._released.wait(self.repair_delay_s)  # released when the server shuts down
        return super().choices(text, n)


def _args(url: str) -> list[str]:
    return [
        "benchmark=samples",
        "benchmark.limit=3",
        "backend=scripted",
        "generator=openai",
        f"generator.base_url={url}",
        "generator.model=fake-prover",
        "generator.profile=goedel_v2",
        "search=whole_proof",
        "search.num_samples=2",
        "search.repair_rounds=1",
        "search.samples_per_round=2",
        "executor.workers=0",
    ]


def test_repair_rounds_prove_what_the_first_round_missed_and_the_report_shows_coverage(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    with FakeOpenAIServer(answers()) as server:
        assert main(["prove", "--no-progress", "--out", str(run), *_args(server.base_url)]) == 0
        repair_turns = [b for b in server.bodies if len(b["messages"]) == 3]
    records = {r.problem: r for r in read_results(run / "results.jsonl").records}
    assert all(r.status == "proved" for r in records.values())
    for name, record in records.items():
        assert record.proof == RIGHT[name]
        s = record.samples
        # 2 first-round samples (one without a proof); the failed proof gets both repair samples of the round
        assert s is not None and (s.n, s.c, s.repaired, s.rounds) == (4, 2, 2, 2)
        assert s.first_correct == 3 and s.completion_tokens > 0 and s.prompt_tokens > 0
    # the repair turn carries Lean's error, marked at its position, after the failed answer
    turn = repair_turns[0]["messages"][2]["content"]
    assert (
        turn.startswith("The proof (Round 0) is not correct.")
        and "<error>" in turn
        and "Error Message:" in turn
    )
    assert "<error>decide</error>" in turn or "<error>simp</error>" in turn
    assert main(["report", str(run)]) == 0
    summary = json.loads((run / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["pass_at_k"] == {"1": 0.5, "2": 1 - 1 / 6, "4": 1.0}  # n=4, c=2: 1 - C(2,k)/C(4,k)
    assert summary["coverage"] == [[1, 0], [2, 0], [4, 3]]
    md = (run / "report" / "report.md").read_text(encoding="utf-8")
    assert "## pass@k" in md and "## Coverage (samples vs solved)" in md and "coverage.png" in md
    assert (run / "report" / "coverage.png").is_file()
    assert "sk-" not in (run / "run.json").read_text(encoding="utf-8")


def _journal_lines(run: Path) -> dict[str, list[dict]]:
    out = {}
    for path in sorted((run / "samples").glob("*.jsonl")):
        out[path.name.split("-")[0]] = [
            json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x
        ]
    return out


def test_a_killed_run_resumes_per_sample(tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with SlowRepairs(answers()) as server:
        server.repair_delay_s = 30.0  # the first repair request hangs: the run is killed while waiting on it
        cmd = [sys.executable, "-m", "prover.cli.main", "prove", "--no-progress", "--out", str(run)]
        proc = subprocess.Popen(
            [*cmd, *_args(server.base_url)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                lines = _journal_lines(run) if (run / "samples").is_dir() else {}
                judged = [x for x in lines.get("sample_add_zero", []) if x["kind"] == "judged"]
                if len(judged) == 2 and any(len(b["messages"]) == 3 for b in server.bodies):
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the run never reached its first repair round")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        before = _journal_lines(run)["sample_add_zero"]
        assert [x["kind"] for x in before] == ["draw", "judged", "judged"]
        assert not (run / "results.jsonl").exists() or not read_results(run / "results.jsonl").records
        asked_before = len(server.bodies)
        server.repair_delay_s = 0.0
        done = subprocess.run(
            [sys.executable, "-m", "prover.cli.main", "prove", "--no-progress", "--resume", str(run)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        resumed = server.bodies[asked_before:]
    # the killed problem's first round was journaled: the resumed run asked only for its repair, never again
    # for its opening prompt
    opening = [
        b for b in resumed if len(b["messages"]) == 1 and "sample_add_zero" in b["messages"][0]["content"]
    ]
    assert opening == []
    after = _journal_lines(run)["sample_add_zero"]
    assert after[: len(before)] == before  # append-only: nothing judged was lost or rewritten
    judged = [(x["attempt"], x["round"], x["index"]) for x in after if x["kind"] == "judged"]
    assert len(judged) == len(set(judged)) == 4
    records = {r.problem: r for r in read_results(run / "results.jsonl").records}
    assert set(records) == set(RIGHT) and all(r.status == "proved" for r in records.values())
    samples = records["sample_add_zero"].samples
    assert samples is not None and (samples.n, samples.c, samples.first_correct) == (4, 2, 3)


def test_an_unreachable_server_stops_the_run_before_it_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = tmp_path / "run"
    code = main(["prove", "--no-progress", "--out", str(run), *_args(f"http://127.0.0.1:{port}/v1")])
    assert code != 0 and not run.exists()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and f"cannot reach http://127.0.0.1:{port}/v1" in err[0]


def test_tactic_mode_tree_search_with_the_bfs_prover_profile(tmp_path: Path) -> None:
    # BFS-Prover answers one tactic per `{state}:::` prompt; the samples' first goals and the tactics that close them
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
    prompts = [b["prompt"] for b in bodies]
    records = {r.problem: r for r in read_results(run / "results.jsonl").records}
    assert {name: r.proof for name, r in records.items()} == RIGHT
    assert all(r.status == "proved" for r in records.values())
    assert all(p.endswith(":::") and "messages" not in b for p, b in zip(prompts, bodies, strict=True))
    # tokens per problem for tree search too, not only whole-proof sampling: in the search stats, in every
    # results.jsonl record, and in the report (the fake server counts characters / 4)
    for record in records.values():
        assert record.samples is None  # tree search: no whole-proof samples to carry the tokens
        assert record.prompt_tokens > 0 and record.completion_tokens > 0, record
        assert record.stats["prompt_tokens"] == record.prompt_tokens
        assert record.stats["completion_tokens"] == record.completion_tokens
    prompt_tokens = sum(len(p) // 4 for p in prompts)
    assert sum(r.prompt_tokens for r in records.values()) == prompt_tokens  # nothing counted twice or lost
    assert summary_json(load_run(run))["tokens"]["prompt"] == prompt_tokens
    text = write_report(run)["markdown"].read_text(encoding="utf-8")
    assert "Tokens reported by the model server:" in text and "per problem median" in text
