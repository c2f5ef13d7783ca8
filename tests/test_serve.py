"""`prover serve` in process (FastAPI's TestClient): every endpoint on a scripted world, LeanCopilot conformance,
malformed and oversized bodies, API key, CORS, jobs, time limits, and the pool / queue building blocks.

The world is tests/data/worlds/editor_demo.json (the editor demo's theorems plus a chain of slow steps); the
generator is the fixed one, so which tactics close which goal is known in advance.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from prover.config import compose
from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.serve.app import create_app
from prover.serve.batching import Cancelled, GeneratorWorker, QueueFull
from prover.serve.pool import PoolBusy, SessionPool
from prover.serve.service import BadInput, ProverService, ServeSetupError, theorem_from
from prover.serve.settings import ServeSettings
from prover.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests" / "data" / "worlds" / "editor_demo.json"
ADD_GOAL = "n : Nat\n⊢ n + 0 = n"
ADD = {"statement": "theorem add_zero_right (n : Nat) : n + 0 = n", "header": "import Mathlib.Tactic"}
TACTICS = "[{tactic:omega,logprob:-0.1},{tactic:exact foo,logprob:-0.5},{tactic:induction n,logprob:-0.7},{tactic:native_decide,logprob:-0.9}]"


def build(overrides: list[str] = (), scripted: bool = True, **serve: Any) -> ProverService:
    world = [
        "backend=scripted",
        f"backend.world={WORLD}",
        "backend.in_process=true",
        "backend.tactic_timeout_s=10",
    ]
    cfg = compose(
        [*(world if scripted else []), "generator=fixed", f"generator.tactics={TACTICS}", *overrides]
    )
    settings = load_settings(ServeSettings, {**dict(cfg.serve), **serve}, "serve")
    return ProverService.from_config(cfg, settings)


def local(app: Any) -> TestClient:
    """A test client that names the server as a loopback host (the gateway refuses other Host names)."""
    return TestClient(app, base_url="http://localhost")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with local(create_app(build())) as c:
        yield c


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] and body["error"]["message"], body
    assert "Traceback" not in response.text
    return body["error"]


# --- settings and config -------------------------------------------------------------------------------
def test_serve_yaml_mirrors_the_settings_defaults() -> None:
    data = yaml.safe_load((REPO / "configs" / "serve" / "default.yaml").read_text())
    assert data == ServeSettings().model_dump()
    assert data["host"] == "127.0.0.1" and data["port"] == 23337 and data["allowed_origins"] == []
    assert data["token"] is True and data["allow_guard_only"] is False and data["open_paths"] == ["/health"]


def test_unknown_serve_key_is_named() -> None:
    with pytest.raises(Exception, match=r"serve\.pool_sise"):
        load_settings(ServeSettings, {"pool_sise": 3}, "serve")
    with pytest.raises(Exception, match="empty API key"):
        load_settings(ServeSettings, {"api_key": " "}, "serve")


NO_LEAN = ["backend=repl", "backend.command=[no-such-lake-binary]"]


def no_lean(**serve: Any) -> ProverService:
    """A server whose backend cannot start here, allowed to run guard-only."""
    return build(NO_LEAN, scripted=False, allow_guard_only=True, **serve)


def test_serve_refuses_to_start_without_lean_unless_guard_only_is_allowed() -> None:
    with pytest.raises(ServeSetupError, match=r"backend=repl needs.*serve\.allow_guard_only=true"):
        build(NO_LEAN, scripted=False)


def test_guard_only_serves_without_lean_when_allowed(caplog: pytest.LogCaptureFixture) -> None:
    service = no_lean()
    try:
        assert not service.has_lean and service.version()["backend"] == "none"
        assert "serving without Lean" in caplog.text
    finally:
        service.close()


def test_theorem_from_editor_statements() -> None:
    th = theorem_from("theorem foo (n : Nat) : n = n := by sorry", "import Mathlib.Tactic")
    assert (th.name, th.statement, th.header) == (
        "foo",
        "theorem foo (n : Nat) : n = n",
        "import Mathlib.Tactic\n",
    )
    assert theorem_from("theorem bar : True", None).header == "import Mathlib\n"
    with pytest.raises(BadInput, match="already has a proof"):
        theorem_from("theorem foo : True := trivial", None)
    with pytest.raises(BadInput, match="empty"):
        theorem_from("   ", None)


@pytest.mark.parametrize(
    ("statement", "header", "reason"),
    [
        ("theorem t : True\n#eval 1", None, "#eval"),
        ("theorem t : True", "set_option debug.skipKernelTC true", "debug.skipKernelTC"),
        ("theorem t : True", "open Foo renaming bar → baz", "plain names"),
        ("def t : Nat", None, "theorem, lemma or example"),
        ("@[simp] theorem t : True", None, "attributes"),
        ("theorem t : sorryAx True", None, "sorryAx"),
    ],
)
def test_theorem_context_that_would_run_more_than_a_statement_is_refused(
    client: TestClient, statement: str, header: str | None, reason: str
) -> None:
    theorem = {"statement": statement, **({"header": header} if header else {})}
    err = error_of(client.post("/suggest", json={"goal": ADD_GOAL, "theorem": theorem}))
    assert err["code"] == "bad_request" and reason in err["message"], err
    err = error_of(client.post("/check", json={**theorem, "proof": "trivial"}))
    assert reason in err["message"]


def test_header_keeps_header_commands_and_drops_the_rest() -> None:
    header = (
        "import Mathlib.Tactic -- the imports\n/- a block\ncomment -/\nopen Nat Real\n"
        '#eval IO.println 1\nrun_cmd Lean.logInfo m!"x"\n'
        "theorem earlier (n : Nat) : n = n := by\n  open Foo in rfl\n  sorry\n"
        "set_option maxHeartbeats 400000\nnoncomputable section"
    )
    th = theorem_from("/-- doc -/\ntheorem t (s : Set ℕ) : ∑ i in Finset.range 3, i = 3", header)
    assert th.name == "t"
    assert th.header == (
        "import Mathlib.Tactic -- the imports\n/- a block\ncomment -/\nopen Nat Real\n"
        "set_option maxHeartbeats 400000\nnoncomputable section\n"
    )


def test_the_editors_whole_file_header_still_proves(client: TestClient) -> None:
    """The companion sends everything above the declaration: earlier theorems do not reach Lean."""
    header = "import Mathlib.Tactic\n\ntheorem add_zero_right (n : Nat) : n + 0 = n := by\n  omega"
    body = {"statement": "theorem checked : 1 + 1 = 2", "header": header, "proof": "decide"}
    assert client.post("/check", json=body).json()["accepted"] is True


# --- health, version, OpenAPI --------------------------------------------------------------------------
def test_health_version_and_openapi(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["sessions"]["size"] == 2
    version = client.get("/version").json()
    assert version["backend"].startswith("scripted world") and version["generator"] == "fixed"
    assert version["lean"].startswith("none")
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/generate",
        "/encode",
        "/suggest",
        "/prove",
        "/prove/{job_id}",
        "/prove/{job_id}/events",
        "/premises",
        "/check",
        "/solve",
        "/health",
        "/version",
    ):
        assert path in paths, path
    assert "SuggestRequest" in schema["components"]["schemas"]


# --- LeanCopilot ---------------------------------------------------------------------------------------
def test_generate_speaks_leancopilot(client: TestClient) -> None:
    # exactly what LeanCopilot's ExternalGenerator sends (curl, pretty JSON, accept header)
    raw = json.dumps({"name": "our-model", "input": ADD_GOAL, "prefix": ""}, indent=2)
    headers = {"accept": "application/json", "Content-Type": "application/json"}
    response = client.post("/generate", content=raw, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"outputs"}
    outputs = body["outputs"]
    assert all(set(o) == {"output", "score"} and isinstance(o["score"], float) for o in outputs)
    tactics = [o["output"] for o in outputs]
    assert tactics[0] == "omega" and "exact foo" in tactics
    assert "native_decide" not in tactics  # the guard refuses it: never handed to LeanCopilot
    assert [o["score"] for o in outputs] == sorted((o["score"] for o in outputs), reverse=True)


def test_generate_prefix_and_missing_prefix(client: TestClient) -> None:
    only = client.post("/generate", json={"name": "m", "input": ADD_GOAL, "prefix": "ind"}).json()["outputs"]
    assert [o["output"] for o in only] == ["induction n"]
    # LeanCopilot's own Python server treats prefix as optional; unknown fields are ignored for this client
    ok = client.post("/generate", json={"name": "m", "input": ADD_GOAL, "extra": 1})
    assert ok.status_code == 200 and ok.json()["outputs"]


def test_encode_returns_a_unit_vector(client: TestClient) -> None:
    response = client.post("/encode", json={"name": "enc", "input": ADD_GOAL})
    assert response.status_code == 200, response.text
    vector = response.json()["outputs"]
    assert len(vector) == 384 and all(isinstance(x, float) for x in vector)
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-3
    assert error_of(client.post("/encode", json={"name": "enc", "input": "  "}))["code"] == "bad_request"


# --- /suggest ------------------------------------------------------------------------------------------
def test_suggest_marks_each_suggestion_from_the_session(client: TestClient) -> None:
    response = client.post("/suggest", json={"goal": ADD_GOAL, "k": 4, "theorem": ADD})
    assert response.status_code == 200, response.text
    rows = {r["tactic"]: r for r in response.json()["suggestions"]}
    assert rows["omega"]["status"] == "closes_goal" and rows["omega"]["goals_after"] == []
    assert rows["exact foo"]["status"] == "error" and "unknown identifier" in rows["exact foo"]["message"]
    assert rows["induction n"]["status"] == "valid" and len(rows["induction n"]["goals_after"]) == 2
    assert (
        rows["native_decide"]["status"] == "refused" and "native_decide" in rows["native_decide"]["message"]
    )
    assert response.json()["checked_goals"] == [ADD_GOAL]


def test_suggest_without_theorem_is_unchecked_but_guarded(client: TestClient) -> None:
    rows = client.post("/suggest", json={"goal": ADD_GOAL}).json()["suggestions"]
    status = {r["tactic"]: r["status"] for r in rows}
    assert status == {
        "omega": "unchecked",
        "exact foo": "unchecked",
        "induction n": "unchecked",
        "native_decide": "refused",
    }


def test_suggest_follows_the_path_and_warns_on_a_different_goal(client: TestClient) -> None:
    body = {"goal": "case zero\n⊢ 0 + 0 = 0", "theorem": ADD, "path": ["induction n"], "k": 3}
    out = client.post("/suggest", json=body).json()
    assert out["checked_goals"][0] == "case zero\n⊢ 0 + 0 = 0" and "warning" not in out
    other = client.post("/suggest", json={"goal": "⊢ something else", "theorem": ADD}).json()
    assert "warning" in other and other["checked_goals"] == [ADD_GOAL]
    broken = client.post("/suggest", json={**body, "path": ["exact foo"]}).json()["suggestions"]
    assert {r["status"] for r in broken} <= {"unchecked", "refused"}
    assert "path tactic #1 `exact foo` failed" in broken[0]["message"]  # Lean text, not a Python repr


def test_suggest_with_an_unknown_theorem_is_unchecked_with_the_reason(client: TestClient) -> None:
    rows = client.post("/suggest", json={"goal": ADD_GOAL, "theorem": {"statement": "theorem nope : True"}})
    assert rows.status_code == 200
    first = rows.json()["suggestions"][0]
    assert first["status"] == "unchecked" and "did not start" in first["message"]


# --- /check, /premises, /solve ---------------------------------------------------------------------------
def test_check_accepts_and_rejects_through_the_guard_and_the_session(client: TestClient) -> None:
    ok = client.post(
        "/check",
        json={
            "statement": "theorem checked : 1 + 1 = 2",
            "proof": "decide",
            "header": "import Mathlib.Tactic",
        },
    ).json()
    assert ok["accepted"] is True and ok["mode"] == "scripted"
    bad = client.post("/check", json={**ADD, "proof": "exact foo"}).json()
    assert bad["accepted"] is False and bad["check"] == "compile"
    cheat = client.post("/check", json={**ADD, "proof": "sorry"}).json()
    assert cheat["accepted"] is False and cheat["check"] == "guard"
    assert error_of(client.post("/check", json={**ADD, "proof": " "}))["code"] == "bad_request"


def test_premises_without_an_index_is_400_no_retriever(client: TestClient) -> None:
    response = client.post("/premises", json={"goal": ADD_GOAL})
    assert response.status_code == 400 and error_of(response)["code"] == "no_retriever"


def test_premises_from_a_bm25_index(tmp_path: Path) -> None:
    from prover.retrieval.corpus import Corpus, Premise
    from prover.retrieval.index import build_bm25_index

    corpus = Corpus(
        [
            Premise("Nat.add_zero", "theorem Nat.add_zero (n : Nat) : n + 0 = n", path="Init/Core.lean"),
            Premise("Nat.zero_add", "theorem Nat.zero_add (n : Nat) : 0 + n = n", path="Init/Core.lean"),
            Premise("List.length_nil", "theorem List.length_nil : [].length = 0", path="Init/List.lean"),
            Premise("List.map_id", "theorem List.map_id (l : List α) : l.map id = l", path="Init/List.lean"),
            Premise(
                "Set.subset_refl", "theorem Set.subset_refl (s : Set α) : s ⊆ s", path="Mathlib/Set.lean"
            ),
            Premise(
                "Real.sqrt_sq", "theorem Real.sqrt_sq (h : 0 ≤ a) : √(a ^ 2) = a", path="Mathlib/Sqrt.lean"
            ),
            Premise(
                "Finset.sum_empty", "theorem Finset.sum_empty : ∑ x ∈ ∅, f x = 0", path="Mathlib/Sum.lean"
            ),
        ]
    )
    build_bm25_index(corpus).save(tmp_path / "idx")
    service = build(["retriever=bm25", f"retriever.index_path={tmp_path / 'idx'}"])
    with local(create_app(service)) as c:
        out = c.post("/premises", json={"goal": "n : Nat\n⊢ n + 0 = n", "k": 2}).json()["premises"]
        assert len(out) == 2 and out[0]["path"] == "Init/Core.lean"
        assert {p["full_name"] for p in out} == {"Nat.add_zero", "Nat.zero_add"}
        assert set(out[0]) == {"full_name", "code", "path", "score"}
        assert error_of(c.post("/premises", json={"goal": "x", "k": 10_000}))["code"] == "bad_request"


FPS_WORLD = REPO / "tests" / "data" / "worlds" / "fps_world.json"
FPS_PROBLEMS = REPO / "tests" / "data" / "worlds" / "fps_problems.jsonl"


def test_solve_runs_the_fps_solver_and_checks_the_answer() -> None:
    cfg = [
        "backend=scripted",
        f"backend.world={FPS_WORLD}",
        "backend.in_process=true",
        "generator=fixed",
        "generator.tactics=[{tactic:rfl,logprob:-0.1}]",
        "solver.preflight_formal_answers=false",
        "solver.normal_form_probe=false",
    ]
    settings = load_settings(ServeSettings, {}, "serve")
    service = ProverService.from_config(compose(cfg), settings)
    problem = json.loads(FPS_PROBLEMS.read_text(encoding="utf-8").splitlines()[0])
    with local(create_app(service)) as c:
        record = c.post("/solve", json={"problem": problem, "max_expansions": 5}).json()
        assert record["status"] == "solved" and record["answer"] == "(9 : ℕ)", record
        assert record["check"]["verdict"]["accepted"] is True and record["check"]["rpe"]["correct"] is True
        err = error_of(
            c.post("/solve", json={"problem": {"statement": "theorem t : True", "file": "A.lean"}})
        )
        assert err["code"] == "bad_request" and "expected an FPS problem" in err["message"]
        assert "file, statement" in err["message"]
        err = error_of(c.post("/solve", json={"problem": {**problem, "outros": []}}))
        assert err["message"].startswith("problem.outros")
        sneaky = {**problem, "formal_answer_type": "ℕ\n#eval IO.println 1"}
        err = error_of(c.post("/solve", json={"problem": sneaky}))
        assert "problem.formal_answer_type" in err["message"] and "#eval" in err["message"]
        sneaky = {**problem, "header": 'open Real\nrun_cmd Lean.logInfo m!"x"'}
        assert "run_cmd" in error_of(c.post("/solve", json={"problem": sneaky}))["message"]


def test_solve_accepts_a_lean_statement_of_fps_shape() -> None:
    """The editor form: a Lean `∃ (answer : T)` statement is turned into the FPS problem it states."""
    cfg = [
        "backend=scripted",
        f"backend.world={FPS_WORLD}",
        "backend.in_process=true",
        "generator=fixed",
        "generator.tactics=[{tactic:rfl,logprob:-0.1}]",
        "solver.preflight_formal_answers=false",  # the scripted world knows no preflight command
        "solver.normal_form_probe=false",
    ]
    settings = load_settings(ServeSettings, {}, "serve")
    service = ProverService.from_config(compose(cfg), settings)
    statement = "theorem fps_solved : ∃ (answer : ℕ), answer + 1 = 10"
    with local(create_app(service)) as c:
        # The editor sends the whole text above the declaration: earlier theorems are dropped, not refused.
        header = "import Mathlib\nopen Nat\n\ntheorem before : 1 + 1 = 2 := by\n  decide\n"
        body = {"statement": statement, "header": header, "max_expansions": 5}
        record = c.post("/solve", json=body).json()
        # No ground truth: the answer is found and proved, but not compared (no RPE).
        assert record["status"] == "answered" and record["answer"] == "(9 : ℕ)", record
        assert record["check"]["verdict"]["accepted"] is True and record["check"]["rpe"] is None
        assert record["ground_truth"] == ""
        record = c.post("/solve", json={**body, "formal_answer": "answer = 9"}).json()
        assert record["status"] == "solved" and record["check"]["rpe"]["correct"] is True, record
        err = error_of(c.post("/solve", json={"statement": "theorem t (n : ℕ) : n + 0 = n"}))
        assert err["code"] == "bad_request" and "∃ (answer : T)" in err["message"]
        err = error_of(c.post("/solve", json={"statement": "theorem t : ∃ (x : ℕ), x = 1"}))
        assert "∃ (answer : T)" in err["message"]
        sneaky = "theorem t : ∃ (answer : ℕ), answer = (by exact 1 #eval 1)"
        assert "#eval" in error_of(c.post("/solve", json={"statement": sneaky}))["message"]
        problem = json.loads(FPS_PROBLEMS.read_text(encoding="utf-8").splitlines()[0])
        err = error_of(c.post("/solve", json={"problem": problem, "statement": statement}))
        assert "either problem" in err["message"]


def test_solve_statement_parts_become_intros_and_outros() -> None:
    service = build()
    problem, truth = service.fps_problem_from_statement(
        "theorem fps_restated (n : ℕ) : ∃ (answer : ℕ), ∀ (h₀ : answer < 101), (answer = n)", None, None
    )
    assert not truth and problem.id == "restated"
    assert [(v.name, v.t) for v in problem.intros] == [("n", "ℕ")]
    assert [(v.name, v.t) for v in problem.outros] == [("h₀", "answer < 101"), ("h_answer", "answer = n")]
    assert problem.formal_answer_type == "ℕ"


def test_solve_is_501_without_lean() -> None:
    with local(create_app(no_lean())) as c:
        response = c.post("/solve", json={"problem": {"statement": "x"}})
        assert response.status_code == 501 and error_of(response)["code"] == "not_available"
        assert "Lean backend" in error_of(response)["message"]


# --- /prove jobs -----------------------------------------------------------------------------------------
def _wait_job(c: TestClient, job_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = c.get(f"/prove/{job_id}").json()
        if state["status"] in ("proved", "failed", "error", "cancelled"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def test_prove_returns_a_verified_proof_by_polling_and_by_events(client: TestClient) -> None:
    created = client.post("/prove", json={**ADD, "max_expansions": 5})
    assert created.status_code == 202
    job_id = created.json()["job_id"]
    state = _wait_job(client, job_id)
    assert state["status"] == "proved" and state["proof"] == "omega"
    assert state["progress"]["expansions"] >= 1 and state["progress"]["nodes"] >= 1
    with client.stream("GET", f"/prove/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.startswith("event:")]
    assert events[-1].startswith("event: done")
    assert json.loads(events[-1].split("data: ", 1)[1])["proof"] == "omega"


def _known_step_world(tmp_path: Path) -> Path:
    """The demo world with its slow ``step`` renamed ``skip``: a multi-line proof must start each line with a
    tactic the guard knows, and the verified proof of ``slow_chain`` has eleven lines."""
    world = tmp_path / "world.json"
    world.write_text(WORLD.read_text(encoding="utf-8").replace('"step"', '"skip"'), encoding="utf-8")
    return world


def test_prove_events_stream_progress_then_done(tmp_path: Path) -> None:
    service = build(
        [
            f"backend.world={_known_step_world(tmp_path)}",
            "generator.tactics=[{tactic:skip,logprob:-0.1},{tactic:done,logprob:-0.2}]",
        ]
    )
    with local(create_app(service)) as c:
        job_id = c.post("/prove", json={"statement": "theorem slow_chain : Slow 0"}).json()["job_id"]
        with c.stream("GET", f"/prove/{job_id}/events") as stream:
            text = "".join(stream.iter_text())
        kinds = [b.split("\n", 1)[0] for b in text.split("\n\n") if b.startswith("event:")]
        assert kinds.count("event: done") == 1 and kinds[-1] == "event: done"
        assert "event: progress" in kinds
        final = json.loads(text.rsplit("data: ", 1)[1])
        assert final["status"] == "proved", final["message"]
        assert final["proof"].splitlines() == ["skip"] * 10 + ["done"]


def test_prove_cancel_stops_the_search() -> None:
    service = build(["generator.tactics=[{tactic:step,logprob:-0.1}]"])
    with local(create_app(service)) as c:
        job_id = c.post("/prove", json={"statement": "theorem slow_chain : Slow 0"}).json()["job_id"]
        time.sleep(0.4)
        started = time.monotonic()
        assert c.delete(f"/prove/{job_id}").json() == {"job_id": job_id, "status": "cancelled"}
        state = _wait_job(c, job_id, timeout_s=5)
        assert state["status"] == "cancelled" and "proof" not in state
        assert time.monotonic() - started < 2.0  # the chain would need ~2.5 s more
        assert error_of(c.get("/prove/nope"))["code"] == "not_found"
        assert c.delete("/prove/nope").status_code == 404


def test_prove_budget_failure_and_too_many_jobs() -> None:
    service = build(["generator.tactics=[{tactic:step,logprob:-0.1}]"], max_queued_jobs=1)
    with local(create_app(service)) as c:
        first = c.post("/prove", json={"statement": "theorem slow_chain : Slow 0", "max_expansions": 2})
        second = c.post("/prove", json={"statement": "theorem slow_chain : Slow 0"})
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        state = _wait_job(c, first.json()["job_id"])
        assert state["status"] == "failed" and "2 expansions" in state["message"]


# --- bad input: always a JSON error with a message, never a 500 -------------------------------------------
@pytest.mark.parametrize(
    ("path", "content", "field"),
    [
        ("/suggest", b'{"goal": "x"', "not valid JSON"),
        ("/suggest", b"[1, 2]", "JSON object"),
        ("/suggest", b"", ""),
        ("/suggest", b'{"k": 3}', "goal"),
        ("/suggest", b'{"goal": 3}', "goal"),
        ("/suggest", b'{"goal": "x", "k": 0}', "k"),
        ("/suggest", b'{"goal": "x", "k": 100000}', "max_k"),
        ("/suggest", b'{"goal": "   "}', "empty"),
        ("/suggest", b'{"goal": "x", "max_expansion": 3}', "max_expansion"),
        ("/suggest", b'{"goal": "x", "theorem": {"statement": "theorem ( : True"}}', ""),
        ("/generate", b'{"name": "m"}', "input"),
        ("/generate", b"\xff\xfe garbage", ""),
        ("/prove", b'{"statement": "theorem t : True", "max_expansions": -1}', "max_expansions"),
        ("/check", b'{"statement": "theorem t : True"}', "proof"),
        ("/premises", b'{"goal": null}', "goal"),
        ("/solve", b'{"problem": 3}', "problem"),
    ],
)
def test_malformed_requests_get_one_clear_json_error(
    client: TestClient, path: str, content: bytes, field: str
) -> None:
    response = client.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    err = error_of(response)
    assert err["code"] == "bad_request"
    assert field in err["message"]


def test_unknown_route_and_wrong_method_are_json(client: TestClient) -> None:
    assert error_of(client.get("/nowhere"))["code"] == "not_found"
    assert error_of(client.get("/suggest"))["code"] == "method_not_allowed"


def test_oversized_bodies_are_413_with_and_without_content_length() -> None:
    with local(create_app(build(max_body_bytes=1000))) as c:
        big = {"goal": "x" * 5000}
        assert error_of(c.post("/suggest", json=big))["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:
            yield b'{"goal": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        response = c.post("/suggest", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"
        assert c.post("/suggest", json={"goal": ADD_GOAL, "k": 1}).status_code == 200


def test_overlong_goal_is_refused_by_the_generator_limit() -> None:
    with local(create_app(build(["generator.max_state_chars=50"]))) as c:
        err = error_of(c.post("/suggest", json={"goal": "⊢ " + "a" * 100}))
        assert "over the limit" in err["message"] and "the goal" in err["message"]


# --- API key, CORS ---------------------------------------------------------------------------------------
def test_api_key_guards_everything_but_health() -> None:
    with local(create_app(build(api_key="s3cret"))) as c:
        assert c.get("/health").status_code == 200
        assert error_of(c.get("/version"))["code"] == "unauthorized"
        assert c.post("/suggest", json={"goal": ADD_GOAL}, headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.post("/suggest", json={"goal": ADD_GOAL}, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/version", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_cors_is_off_by_default_and_on_for_listed_origins(client: TestClient) -> None:
    preflight = {"Origin": "http://example.org", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/suggest", headers=preflight).headers
    assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": "http://x"}).headers
    with local(create_app(build(allowed_origins=["http://example.org"], api_key="k"))) as c:
        response = c.options("/suggest", headers=preflight)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://example.org"


# --- time limits -----------------------------------------------------------------------------------------
def test_request_time_limit_is_504_and_the_session_comes_back() -> None:
    service = build(["generator.tactics=[{tactic:sleep,logprob:-0.1}]"], request_timeout_s=0.5, pool_size=1)
    with local(create_app(service)) as c:
        started = time.monotonic()
        response = c.post("/suggest", json={"goal": ADD_GOAL, "theorem": ADD, "k": 1})
        assert response.status_code == 504 and error_of(response)["code"] == "timeout"
        assert time.monotonic() - started < 2.5
        # the session of the timed-out request was abandoned (closed, slot free) at once, not after its tactic
        assert c.get("/health").json()["sessions"]["in_use"] == 0
        again = c.post("/suggest", json={"goal": ADD_GOAL, "theorem": ADD, "k": 1})
        assert again.status_code == 504, again.text  # a fresh session ran it: not 429 "all sessions busy"


def test_without_lean_suggestions_are_unchecked_and_check_is_never_accepted() -> None:
    """Issue 23: guard-only /check answered `accepted: true` for `theorem t : False := by simp`."""
    with local(create_app(no_lean())) as c:
        rows = c.post("/suggest", json={"goal": ADD_GOAL, "theorem": ADD}).json()["suggestions"]
        assert {r["status"] for r in rows} == {"unchecked", "refused"}
        verdict = c.post("/check", json={"statement": "theorem t : False", "proof": "by simp"}).json()
        assert verdict["mode"] == "guard-only" and verdict["accepted"] is False
        assert verdict["status"] == "not_checked" and "not checked by Lean" in verdict["reasons"][0]
        refused = c.post("/check", json={**ADD, "proof": "sorry"}).json()
        assert (
            refused["accepted"] is False and refused["status"] == "rejected" and refused["check"] == "guard"
        )
        assert error_of(c.post("/prove", json=ADD))["code"] == "no_backend"
        assert c.get("/version").json()["backend"] == "none"


# --- building blocks -------------------------------------------------------------------------------------
class _Blocking(TacticGenerator):
    """Waits for ``release`` before answering; records batch sizes."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.batches: list[int] = []

    def generate(self, requests: Any, k: int) -> list[list[Suggestion]]:
        self.release.wait(10)
        self.batches.append(len(requests))
        return [[Suggestion(-0.1, f"t{len(r.goals)}")] for r in requests]


def test_generator_worker_batches_bounds_its_queue_and_skips_cancelled() -> None:
    gen = _Blocking()
    worker = GeneratorWorker(gen, max_queue=3, max_batch=8)
    try:
        request = GenerationRequest.from_text("⊢ a")
        first = worker.submit(request, 2)
        time.sleep(0.2)  # the worker is now inside generate() with the first request
        queued = [worker.submit(request, 2) for _ in range(3)]
        with pytest.raises(QueueFull):
            worker.submit(request, 2)
        queued[0].cancel()
        gen.release.set()
        assert first.result(5) == [Suggestion(-0.1, "t1")]
        assert [f.result(5) for f in queued[1:]] == [[Suggestion(-0.1, "t1")]] * 2
        assert gen.batches == [1, 2]  # the two live waiting requests in ONE call, the cancelled one skipped
        stop = threading.Event()
        stop.set()
        with pytest.raises(Cancelled):
            worker.generate([request], 1, cancelled=stop)
    finally:
        gen.release.set()
        worker.close()


def test_session_pool_is_bounded_and_replaces_broken_sessions() -> None:
    made: list[object] = []

    class _S:
        closed = False

        def close(self) -> None:
            self.closed = True

    def factory() -> Any:
        made.append(_S())
        return made[-1]

    pool = SessionPool(factory, 2)
    a, b = pool.acquire(), pool.acquire()
    with pytest.raises(PoolBusy):
        pool.acquire(wait_s=0.05)
    pool.release(a)
    assert pool.acquire() is a
    pool.release(b, broken=True)
    assert b.closed and pool.acquire() is made[2]
    assert len(made) == 3 and pool.in_use == 2


# --- whole-proof search through the server (issue 20: budgets are typed overrides, never dict merges) --------
def test_serve_whole_proof_prove_job_reaches_a_verified_proof() -> None:
    """`prover serve search=whole_proof`: a /prove job ends `proved`, not "unknown key search.max_expansions"."""
    service = build(["search=whole_proof", "search.num_samples=4"])
    with local(create_app(service)) as c:
        created = c.post("/prove", json={**ADD, "max_expansions": 5, "time_limit_s": 20})
        assert created.status_code == 202, created.text
        state = _wait_job(c, created.json()["job_id"])
        assert state["status"] == "proved", state
        assert state["proof"].strip() == "omega"


def test_serve_whole_proof_solve_answers_a_record_not_500() -> None:
    """`/solve` under search=whole_proof samples a whole proof of the FPS statement and checks the answer."""
    cfg = compose(
        [
            "backend=scripted",
            f"backend.world={FPS_WORLD}",
            "backend.in_process=true",
            "generator=fixed",
            "search=whole_proof",
            "search.num_samples=2",
            "solver.preflight_formal_answers=false",
            "solver.normal_form_probe=false",
        ]
    )
    cfg.generator.tactics = [{"tactic": "refine ⟨((9 : ℕ) : ℕ), ?_⟩\nrfl", "logprob": -0.1}]
    service = ProverService.from_config(cfg, load_settings(ServeSettings, {}, "serve"))
    problem = json.loads(FPS_PROBLEMS.read_text(encoding="utf-8").splitlines()[0])
    with local(create_app(service)) as c:
        response = c.post("/solve", json={"problem": problem, "max_expansions": 5})
        assert response.status_code == 200, response.text
        record = response.json()
        assert record["status"] == "solved" and record["answer"] == "(9 : ℕ)", record
        assert record["search"]["budget"] == "1×2×1"  # whole-proof budget: attempts × samples × 1


def test_search_budget_is_a_validated_typed_override() -> None:
    """A request's budget is applied to the typed settings (only the fields the searcher has), validated."""
    service = build(["search=whole_proof", "search.num_samples=3"])
    try:
        assert service.default_max_expansions is None
        within = service.search_within(7, 5.0)
        assert type(within).__name__ == "WholeProofSettings" and within.time_limit_s == 5.0
        assert within.num_samples == 3 and service.search.time_limit_s == 600.0  # the original is untouched
    finally:
        service.close()
    service = build(["search=bfs"])
    try:
        assert service.search_within(7, 5.0).max_expansions == 7
        with pytest.raises(BadInput, match="time_limit_s"):
            service.search_within(7, -1.0)
    finally:
        service.close()
