"""MUSTARD end to end: a fake OpenAI-compatible endpoint on 127.0.0.1 and a scripted Lean world."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.lean.doubles.session import WorldSession
from prover.synthesis.concepts import ConceptLibrary
from prover.synthesis.fake_endpoint import CannedRule, FakeEndpoint
from prover.synthesis.llm import LLMError, OpenAIChat
from prover.synthesis.mustard import MustardWriter, run_mustard
from prover.synthesis.settings import LLMSettings, MustardSettings
from prover.synthesis.store import SynthRunError

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests/data/synth/world.json"
LIBRARY = REPO / "datasets/concepts/mustard.json"

GOOD = """## Problem
Show that every positive natural number is at least one.

## Informal proof
A positive natural number n satisfies 0 < n, which for naturals means 1 ≤ n.

## Formal statement
```lean
theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by sorry
```

## Formal proof
```lean
import Mathlib

theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by
  omega
```
"""

BROKEN = """**PROBLEM:** Show that a^2 + b^2 is never negative for real a, b.

**Informal Proof:** Squares are non-negative and so is their sum.

# formal statement
```lean4
theorem sq_nonneg_sum (a b : ℝ) : 0 ≤ a ^ 2 + b ^ 2 := by sorry
```

# Formal Proof (Lean 4)
```lean
theorem sq_nonneg_sum (a b : ℝ) : 0 ≤ a ^ 2 + b ^ 2 := by
  nlinarith [sq_nonneg a]
```
"""

FIXED = """## Formal statement
```lean
theorem sq_nonneg_sum (a b : ℝ) : 0 ≤ a ^ 2 + b ^ 2 := by sorry
```
## Formal proof
```lean
theorem sq_nonneg_sum (a b : ℝ) : 0 ≤ a ^ 2 + b ^ 2 := by
  positivity
```
"""

CHEAT = """Problem: Every prime above 2 is odd.
Informal proof: A prime above 2 is not divisible by 2.
Formal statement:
```lean
theorem cheat (p : ℕ) (hp : p.Prime) (h : p > 2) : p % 2 = 1 := by sorry
```
Formal proof:
```lean
theorem cheat (p : ℕ) (hp : p.Prime) (h : p > 2) : p % 2 = 1 := by
  sorry
```
"""

CHEAT_AGAIN = """## Formal statement
```lean
theorem cheat (p : ℕ) (hp : p.Prime) (h : p > 2) : p % 2 = 1 := by sorry
```
## Formal proof
```lean
theorem cheat (p : ℕ) (hp : p.Prime) (h : p > 2) : p % 2 = 1 := by
  native_decide
```
"""

VACUOUS = GOOD.replace(
    "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n",
    "theorem vacuous (x : ℕ) (h1 : x < 2) (h2 : x > 5) : x = 7",
)

UNPARSABLE = "I am sorry, as a language model I would rather talk about the weather."

RULES = [
    CannedRule(("### Attempt 1", "sq_nonneg_sum"), FIXED),
    CannedRule(("### Attempt 1", "theorem cheat"), CHEAT_AGAIN),
    CannedRule(("Bezout's identity",), GOOD),
    CannedRule(("Cauchy-Schwarz inequality",), BROKEN),
    CannedRule(("perfect numbers",), CHEAT),
    CannedRule(("null sets",), VACUOUS),
    CannedRule(("Wilson's theorem",), UNPARSABLE),
]


def make_writer(endpoint: FakeEndpoint, **kw: object) -> tuple[MustardWriter, MustardSettings]:
    settings = MustardSettings(
        concepts=str(LIBRARY),
        llm=LLMSettings(model="fake-model", base_url=endpoint.base_url, retries=0, api_key="sk-secret-123"),
        **kw,
    )
    session = WorldSession(WORLD)
    model = OpenAIChat(settings.llm)
    return MustardWriter(settings, ConceptLibrary.load(LIBRARY), model, session), settings


def test_good_answer_is_verified_with_versions_and_timings() -> None:
    with FakeEndpoint(RULES) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["Bezout's identity"])
        rec = writer.write(0)
    assert rec["verdict"] == "verified", rec["reasons"]
    assert rec["problem"].startswith("Show that") and "0 < n" in rec["informal_proof"]
    assert rec["formal_statement"].startswith("theorem good_one") and "omega" in rec["formal_proof"]
    assert rec["labels"] == [] and len(rec["attempts"]) == 1
    assert rec["concepts"] == ["Bezout's identity"] and rec["level"] == "higher education"
    assert rec["model"] == "fake-model" and "scripted world" in rec["backend"]
    assert rec["timings"]["total_s"] >= rec["timings"]["llm_s"] > 0
    assert len(ep.requests) == 1


def test_broken_proof_is_repaired_and_the_repair_prompt_shows_numbered_code_and_messages() -> None:
    with FakeEndpoint(RULES) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["Cauchy-Schwarz inequality"])
        rec = writer.write(0)
    assert rec["verdict"] == "verified"
    assert [a["stage"] for a in rec["attempts"]] == ["proof", "ok"]
    assert any("linarith failed" in m for m in rec["attempts"][0]["messages"])
    repair = ep.requests[1][-1]["content"]
    assert "Squares are non-negative" in repair and "Show that a^2 + b^2" in repair
    assert "2 |   nlinarith [sq_nonneg a]" in repair and "linarith failed" in repair


def test_cheating_proofs_are_rejected_by_the_guard_after_every_round() -> None:
    with FakeEndpoint(RULES) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["perfect numbers"], repair_rounds=2)
        rec = writer.write(0)
    assert rec["verdict"] == "proof_rejected"
    assert len(rec["attempts"]) == 3 and len(ep.requests) == 3
    assert "sorry" in rec["attempts"][0]["messages"][0]
    assert all("native_decide" in a["messages"][0] for a in rec["attempts"][1:])
    # the second repair request shows both earlier attempts
    assert "### Attempt 2" in ep.requests[2][-1]["content"]


def test_unparsable_answer_is_recorded_not_raised() -> None:
    with FakeEndpoint(RULES) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["Wilson's theorem"])
        rec = writer.write(3)
    assert rec["verdict"] == "unparsable" and rec["id"] == 3
    assert "no problem and no informal proof" in rec["reasons"][0]
    assert "weather" in rec["raw_answer"]


def test_contradictory_and_trivial_statements_are_kept_but_labelled() -> None:
    with FakeEndpoint(RULES) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["null sets"], trivial_tactics=["trivial", "omega"])
        rec = writer.write(0)
    assert rec["verdict"] == "verified"
    assert set(rec["labels"]) == {"trivial: omega", "contradictory: exfalso <;> omega"}


def test_statement_unknown_to_lean_is_a_statement_error() -> None:
    wrong = GOOD.replace("good_one", "other_one")
    with FakeEndpoint(
        [CannedRule(("### Attempt 1",), wrong), CannedRule(("Bezout's identity",), wrong)]
    ) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["Bezout's identity"], repair_rounds=1)
        rec = writer.write(0)
    assert rec["verdict"] == "statement_error" and len(rec["attempts"]) == 2
    assert "not in the scripted world" in rec["reasons"][0]


def test_step_mode_keeps_the_informal_proof_for_the_formal_call() -> None:
    rules = [
        CannedRule(
            ("Now formalise",), GOOD.split("## Formal statement")[1].join(["## Formal statement", ""])
        ),
        CannedRule(("rigorous informal proof",), "## Informal proof\nUNIQUE-INFORMAL-PROOF-TEXT"),
        CannedRule(("Bezout's identity",), "## Problem\nShow 1 ≤ n for positive n."),
    ]
    with FakeEndpoint(rules) as ep:
        writer, _ = make_writer(ep, fixed_concepts=["Bezout's identity"], prompt_mode="step")
        rec = writer.write(0)
    assert rec["verdict"] == "verified", rec
    assert rec["informal_proof"] == "UNIQUE-INFORMAL-PROOF-TEXT"
    assert len(ep.requests) == 3
    assert "UNIQUE-INFORMAL-PROOF-TEXT" in json.dumps(ep.requests[2])


def test_run_is_resumable_keeps_no_api_key_and_refuses_other_settings(tmp_path: Path) -> None:
    lib = tmp_path / "lib.json"
    lib.write_text(
        json.dumps(
            {"levels": {"higher education": {"D": ["Bezout's identity", "Cauchy-Schwarz inequality"]}}}
        ),
        encoding="utf-8",
    )
    with FakeEndpoint(RULES) as ep:
        writer, settings = make_writer(ep, k=1, num=3)
        settings.concepts = str(lib)
        writer.library = ConceptLibrary.load(lib)
        out = tmp_path / "run"
        first = run_mustard(settings, writer, out)
        assert first.written == 3
        settings.num = 5
        again = run_mustard(settings, writer, out)
        assert (again.written, again.skipped) == (2, 3)
        lines = (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()
        assert sorted(json.loads(x)["id"] for x in lines) == [0, 1, 2, 3, 4]
        assert all(json.loads(x)["verdict"] == "verified" for x in lines)
        for f in out.iterdir():
            assert "sk-secret-123" not in f.read_text(encoding="utf-8", errors="replace")
        settings.seed = 7
        with pytest.raises(SynthRunError, match="seed"):
            run_mustard(settings, writer, out)


def test_torn_last_line_is_cut_and_that_sample_written_again(tmp_path: Path) -> None:
    with FakeEndpoint(RULES) as ep:
        writer, settings = make_writer(ep, fixed_concepts=["Bezout's identity"], num=2)
        out = tmp_path / "run"
        run_mustard(settings, writer, out)
        path = out / "samples.jsonl"
        data = path.read_bytes()
        path.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 1] + b'{"id": 1, "probl')
        again = run_mustard(settings, writer, out)
    assert again.written == 1
    assert [json.loads(x)["id"] for x in path.read_text(encoding="utf-8").splitlines()] == [0, 1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_endpoint_is_one_llm_error() -> None:
    chat = OpenAIChat(LLMSettings(model="m", base_url=f"http://127.0.0.1:{_free_port()}/v1", retries=0))
    with pytest.raises(LLMError, match="cannot reach"):
        chat.chat([{"role": "user", "content": "hi"}])
    with FakeEndpoint([], fail_with=400) as ep, pytest.raises(LLMError, match="HTTP 400"):
        OpenAIChat(LLMSettings(model="m", base_url=ep.base_url, retries=0)).chat([])


def _cli_args(ep: FakeEndpoint, out: Path, *extra: str) -> list[str]:
    return [
        "synth", "mustard", "--out", str(out), "--num", "4",
        "backend=scripted", f"backend.world={WORLD}", "backend.in_process=true",
        f"synth.llm.base_url={ep.base_url}", "synth.llm.model=fake", "synth.llm.retries=0",
        "synth.sampling=cross_domain", "synth.k=3", "synth.level=higher education", *extra,
    ]  # fmt: skip


def test_cli_writes_samples_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeEndpoint([], default=GOOD) as ep:
        assert main(_cli_args(ep, tmp_path / "run")) == 0
    out = capsys.readouterr().out.strip().splitlines()
    final = json.loads(out[-1])
    assert final["samples"] == 4 and final["verified"] == 4
    md = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    assert "| higher education | 4 | 4 | 100.0% |" in md
    assert (tmp_path / "run" / "summary.png").stat().st_size > 1000


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeEndpoint(RULES) as ep:
        assert main(_cli_args(ep, tmp_path / "a", "synth.level=kindergarten")) == 2
        assert main(_cli_args(ep, tmp_path / "b", "synth.fixed_concepts=[no such concept]")) == 2
        assert main(_cli_args(ep, tmp_path / "c", "synth.repair_round=3")) == 2
    err = capsys.readouterr().err
    assert "kindergarten" in err and "no such concept" in err and "repair_round" in err
    assert "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_cli_endpoint_down_exits_1_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeEndpoint([]) as ep:
        args = _cli_args(ep, tmp_path / "r")
    args = [
        a
        if not a.startswith("synth.llm.base_url")
        else f"synth.llm.base_url=http://127.0.0.1:{_free_port()}/v1"
        for a in args
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()  # the preflight failed: no run directory, no half-written line


def test_cli_preflight_refuses_an_unserved_model_or_a_refused_key_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeEndpoint([], served=("other-model",)) as ep:
        assert main(_cli_args(ep, tmp_path / "a")) == 2
    with FakeEndpoint([], fail_with=401) as ep:
        assert main(_cli_args(ep, tmp_path / "b")) == 2
        assert ep.requests == []
    err = capsys.readouterr().err
    assert "does not serve model 'fake'" in err and "other-model" in err and "API key" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_lean_missing_exits_1_before_the_model_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeEndpoint([], default=GOOD) as ep:
        args = [a for a in _cli_args(ep, tmp_path / "r") if not a.startswith("backend")]
        assert main([*args, "backend=repl", "backend.command=[no-such-lean-repl]"]) == 1
        assert ep.requests == []
    assert "no-such-lean-repl" in capsys.readouterr().err and not (tmp_path / "r").exists()


class _Switch:
    """A chat model that fails (as an unreachable endpoint does) while ``down`` is set."""

    def __init__(self, inner: OpenAIChat) -> None:
        self.inner, self.name, self.down = inner, inner.name, True

    def chat(self, messages: list[dict[str, str]], **params: object) -> str:
        if self.down:
            raise LLMError("cannot reach http://127.0.0.1:9/v1: ConnectError")
        return self.inner.chat(messages, **params)

    def preflight(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_errors_are_records_a_run_of_them_stops_and_retry_errors_writes_them_again(tmp_path: Path) -> None:
    from prover.synthesis.mustard import MustardStopped

    with FakeEndpoint(RULES) as ep:
        writer, settings = make_writer(ep, fixed_concepts=["Bezout's identity"], num=5, stop_after_errors=2)
        switch = _Switch(writer.model)  # type: ignore[arg-type]
        writer.model = switch
        out = tmp_path / "run"
        with pytest.raises(MustardStopped, match="2 samples in a row failed.*--retry-errors"):
            run_mustard(settings, writer, out)
        lines = [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [(r["id"], r["verdict"]) for r in lines] == [(0, "error"), (1, "error")]
        assert "cannot reach" in lines[0]["reasons"][0] and lines[0]["concepts"] == ["Bezout's identity"]
        switch.down = False
        plain = run_mustard(settings, writer, out)  # a plain resume keeps the error records
        assert (plain.written, plain.skipped, plain.retried) == (3, 2, [])
        again = run_mustard(settings, writer, out, retry_errors=True)
        assert (again.written, again.retried) == (2, [0, 1])
    final = [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in final) == [0, 1, 2, 3, 4]
    assert all(r["verdict"] == "verified" for r in final)
    moved = (out / "errors-retried.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in moved] == [0, 1]


def test_cli_retry_errors_and_run_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with FakeEndpoint([], default=GOOD, served=("fake",), fail_chat_with=503) as ep:
        assert main(_cli_args(ep, out, "synth.stop_after_errors=2", "synth.llm.api_key=sk-top-secret")) == 1
        err = capsys.readouterr().err
        assert "2 samples in a row failed" in err and "--retry-errors" in err and "Traceback" not in err
        ep.fail_chat_with = None
        assert main([*_cli_args(ep, out, "synth.seed=3"), "--retry-errors"]) == 2  # not the saved settings
        assert "seed" in capsys.readouterr().err
        assert main([*_cli_args(ep, out, "synth.llm.api_key=sk-top-secret"), "--retry-errors"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (final["samples"], final["verified"], final["retried"], final["errors"]) == (4, 4, 2, 0)
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert (
        meta["model"] == "fake"
        and meta["settings"]["k"] == 3
        and meta["backend_config"]["name"] == "scripted"
    )
    assert "scripted world" in meta["backend"] and meta["lean"] is None and meta["command"]
    assert meta["resumes"][0]["retried_errors"] == [0, 1]
    for f in out.iterdir():
        assert "sk-top-secret" not in f.read_text(encoding="utf-8", errors="replace")
    assert main(["synth", "mustard", "--retry-errors"]) == 2


def test_model_code_cannot_smuggle_commands_into_the_header() -> None:
    from prover.synthesis.check import read_declaration

    ok = read_declaration(
        "import Mathlib\nopen Real Nat\n\nopen Finset in\ntheorem t (n : ℕ) : n = n := by rfl"
    )
    assert not isinstance(ok, str)
    assert ok.theorem.header == "import Mathlib\nopen Real Nat\nopen Finset\n"
    assert ok.theorem.statement == "theorem t (n : ℕ) : n = n"
    for code, why in [
        ('open Real\n#eval IO.println "pwned"\ntheorem t : True := by trivial', "unsupported command"),
        ("open Real renaming pi → p\ntheorem t : True := by trivial", "plain 'open"),
        ("set_option maxHeartbeats 0 in\ntheorem t : True := by trivial", "unsupported prefix"),
        ("axiom cheat : False\ntheorem t : False := cheat", "unsupported command"),
        ("theorem t : (by exact sorry : Prop) := by trivial", "soundness guard"),
        ("theorem a : True := by trivial\ntheorem b : True := by trivial", "exactly one theorem"),
    ]:
        res = read_declaration(code)
        assert isinstance(res, str) and why in res, (code, res)


def test_a_mustard_run_feeds_build_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.training.records import ProofExample, read_records

    run = tmp_path / "run"
    answer = GOOD.replace("theorem good_one", "open Nat in\ntheorem good_one")
    with FakeEndpoint([], default=answer) as ep:
        assert main(_cli_args(ep, run)) == 0
    sample = json.loads((run / "samples.jsonl").read_text(encoding="utf-8").splitlines()[0])
    # the checked Lean code, not the model's text: no imports in the proof, the `open` lines in the header
    assert sample["formal_statement"] == "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n"
    assert sample["formal_proof"].startswith(sample["formal_statement"] + " := by")
    assert sample["header"] == "import Mathlib\nopen Nat\n" and sample["name"] == "good_one"
    assert "open Nat in" in sample["attempts"][0]["formal_proof"]  # what the model wrote stays in attempts
    capsys.readouterr()
    data = tmp_path / "data"
    assert main(["data", "build-train", "--synth", str(run), "--out", str(data), "--val", "0"]) == 0
    records = read_records(data / "proof.jsonl", ProofExample)
    built = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the fake endpoint answers the same proof four times: build-train keeps it once (dedupe_proofs)
    assert built["proof_duplicates_dropped"] == 3
    assert len(records) == 1 and all(r.proof.startswith(r.statement) for r in records)
    assert all(r.provenance.source == "synth" and r.informal for r in records)
    # the sample's name and header (its `open` lines) reach the training record, so training sees what Lean saw
    assert {(r.name, r.header) for r in records} == {("good_one", "import Mathlib\nopen Nat\n")}
    assert all(r.lean_theorem().header == "import Mathlib\nopen Nat\n" for r in records)
    # degeneracy labels travel too, and curation drops those samples (drop_degenerate, on by default)
    lines = (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["labels"] = ["trivial: simp"]
    (run / "samples.jsonl").write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n")
    capsys.readouterr()
    dropped = tmp_path / "dropped"
    assert main(["data", "build-train", "--synth", str(run), "--out", str(dropped), "--val", "0"]) == 0
    built = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert built["proof_degenerate_dropped"] == 1 and built["proof_duplicates_dropped"] == 2
    assert [r.labels for r in read_records(dropped / "proof.jsonl", ProofExample)] == [[]]
    labelled = tmp_path / "labelled"
    args = [
        "data",
        "build-train",
        "--synth",
        str(run),
        "--out",
        str(labelled),
        "--val",
        "0",
        "--keep-degenerate",
    ]
    assert main(args) == 0
    assert [r.labels for r in read_records(labelled / "proof.jsonl", ProofExample)] == [["trivial: simp"]]
    capsys.readouterr()
    assert main(["data", "curate", str(labelled), "--out", str(tmp_path / "curated")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["removed"]["drop_degenerate"] == 1
    assert read_records(tmp_path / "curated" / "proof.jsonl", ProofExample) == []


def test_summary_leaves_error_records_out_of_the_pass_rates() -> None:
    from prover.synthesis.summary import markdown, pass_rates

    records = [
        {"id": 0, "level": "elementary", "domain": "D", "verdict": "verified", "labels": []},
        {"id": 1, "level": "elementary", "domain": "D", "verdict": "verified", "labels": ["trivial: simp"]},
        {"id": 2, "level": "elementary", "domain": "D", "verdict": "proof_rejected", "labels": []},
        {"id": 3, "level": "elementary", "domain": "D", "verdict": "error", "labels": []},
    ]
    assert pass_rates(records, "level") == [("elementary", 3, 2, 1)]
    md = markdown(records)
    assert "| elementary | 3 | 2 | 66.7% | 1 |" in md and "Errors (no verdict" in md and ": 1" in md


def test_resume_may_move_the_endpoint_but_not_change_the_model(tmp_path: Path) -> None:
    from prover.synthesis.store import SampleStore

    settings = MustardSettings(llm=LLMSettings(model="m", base_url="http://a:1/v1"))
    SampleStore(tmp_path, settings.recorded()).close()
    moved = settings.model_copy(update={"llm": LLMSettings(model="m", base_url="http://b:2/v1", retries=5)})
    SampleStore(tmp_path, moved.recorded()).close()
    other = settings.model_copy(update={"llm": LLMSettings(model="other", base_url="http://a:1/v1")})
    with pytest.raises(SynthRunError, match="llm"):
        SampleStore(tmp_path, other.recorded())


def test_workers_share_the_configured_repl_pool_out() -> None:
    from prover.synthesis.mustard import worker_backend

    repl = {"name": "repl", "command": ["repl"], "project_dir": ".", "pool_size": 8}
    assert worker_backend(repl, 1) == repl
    assert worker_backend(repl, 4)["pool_size"] == 2 and worker_backend(repl, 16)["pool_size"] == 1
    scripted = {"name": "scripted", "world": str(WORLD)}
    assert worker_backend(scripted, 3)["pool_size"] == 1


def test_cli_repl_backend_is_preflighted_by_elaborating_a_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``backend=repl`` over the scripted world's server (the real REPL client and protocol): a Lean that cannot
    elaborate the preflight statement stops the run before anything is written; one that can lets it run."""
    import sys

    def repl_args(ep: FakeEndpoint, world: Path, out: Path) -> list[str]:
        args = [a for a in _cli_args(ep, out) if not a.startswith("backend")]
        command = json.dumps([sys.executable, "-m", "prover.lean.doubles.server", str(world)])
        # the world file may lie outside the repository: backend.sandbox_paths lets the pool's sandbox and the
        # repl judge's fresh one read it; the judge, not the pool, decides "verified"
        return [*args, "backend=repl", f"backend.command={command}", f"backend.project_dir={REPO}",
                f"backend.sandbox_paths=[{world.parent}]", "backend.pool_size=1", "--num", "1"]  # fmt: skip

    with FakeEndpoint([], default=GOOD) as ep:
        assert main(repl_args(ep, WORLD, tmp_path / "no")) == 1
        err = capsys.readouterr().err
        assert "Lean cannot elaborate" in err and "synth_preflight" in err and "Traceback" not in err
        assert not (tmp_path / "no").exists() and ep.requests == []
        world = json.loads(WORLD.read_text(encoding="utf-8"))
        world["theorems"].append(
            {"name": "synth_preflight", "statement": "theorem synth_preflight : True", "goals": ["⊢ True"]}
        )
        (tmp_path / "worlds").mkdir()  # readable by the sandbox's user (pytest's tmp_path is 0700)
        ok_world = tmp_path / "worlds" / "world.json"
        ok_world.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
        assert main(repl_args(ep, ok_world, tmp_path / "ok")) == 0
    sample = json.loads((tmp_path / "ok" / "samples.jsonl").read_text(encoding="utf-8"))
    assert sample["verdict"] == "verified" and sample["backend"] == "repl"


def test_cli_refuses_a_run_directory_in_use_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prover.synthesis.store import SampleStore

    out = tmp_path / "run"
    with FakeEndpoint([], default=GOOD) as ep:
        assert main(_cli_args(ep, out)) == 0
        before = (out / "samples.jsonl").read_bytes()
        capsys.readouterr()
        with SampleStore(out, json.loads((out / "settings.json").read_text(encoding="utf-8"))):
            assert main([*_cli_args(ep, out), "--num", "6"]) == 1
        assert len(ep.requests) == 4  # refused before any model call
    err = capsys.readouterr().err
    assert "in use" in err and "Traceback" not in err
    assert (out / "samples.jsonl").read_bytes() == before


@pytest.mark.parametrize(
    "cheat",
    [
        # a command after the theorem runs when the proof is elaborated
        'theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  omega\n#eval IO.println "pwned"',
        # attributes and modifiers on the proof's head (issue 19: they passed MUSTARD)
        "@[implemented_by id] theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  omega",
        "unsafe theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  omega",
        # unsafe code, eval% and a computed config inside the proof
        "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  exact unsafeCast h",
        "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  exact eval% (Nat.le_of_lt h)",
        "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  decide (config := ⟨false, true, true, false⟩)",
        "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  omega\nvariables (x : False)",
    ],
)
def test_a_fake_endpoint_cannot_get_a_cheating_proof_kept(tmp_path: Path, cheat: str) -> None:
    """MUSTARD against a fake endpoint that answers with a cheat (issue 19): no sample is verified, and the
    reason names the gate (the parser of model code or the guard), not Lean."""
    answer = GOOD.replace("theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  omega", cheat)
    assert cheat in answer
    with FakeEndpoint([], default=answer) as ep:
        assert main(_cli_args(ep, tmp_path / "run", "--num", "1")) == 0
    sample = json.loads((tmp_path / "run" / "samples.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert sample["verdict"] != "verified"
    assert sample["attempts"] and all(a["stage"] in ("parse", "proof") for a in sample["attempts"])
    messages = " ".join(m for a in sample["attempts"] for m in a["messages"])
    assert any(
        word in messages for word in ("unsupported command", "soundness guard", "guard", "plain", "refused")
    ), messages


def test_the_checker_asks_the_judge_not_the_session() -> None:
    """Issue 19: the session that started the statement gives hints; the judge decides "verified"."""
    from prover.lean.types import Verdict
    from prover.synthesis.check import Checker

    asked: list[str] = []

    def judge(theorem, proof):
        asked.append(theorem.statement)
        return Verdict(False, ("kernel replay failed",), "compile", judge="test")

    formal = "theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n := by\n  omega"
    with WorldSession(WORLD) as session:
        assert Checker(session, [], []).check(formal, formal).stage == "ok"  # the session alone would accept
        result = Checker(session, [], [], judge).check(formal, formal)
    assert result.stage == "proof" and "compile: kernel replay failed" in result.messages
    assert asked == ["theorem good_one (n : ℕ) (h : 0 < n) : 1 ≤ n"]
