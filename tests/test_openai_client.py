"""The one OpenAI-compatible client and ``generator=openai`` against a fake server on 127.0.0.1 (bounded): retries on
429, a hang past the timeout, ``n`` choices, token usage, concurrency limit, preflight sentences, the key kept out of
run directories, and synthesis going through the same client."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from prover.generation.base import GenerationRequest
from prover.generation.factory import make_generator
from prover.generation.fake_openai import Answer, FakeOpenAIServer
from prover.generation.openai_client import EndpointConfigError, EndpointError, EndpointSettings, OpenAIClient
from prover.generation.openai_gen import OpenAIGenerator
from prover.generation.settings import GeneratorConfigError, OpenAISettings
from prover.lean.types import LeanDiagnostic, Theorem, Verdict

THEOREM = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")


def _client(url: str, **kw: Any) -> OpenAIClient:
    return OpenAIClient(EndpointSettings(url, "fake-prover", **{"backoff_s": 0.01, **kw}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_429_is_retried_then_succeeds_with_n_choices_and_usage() -> None:
    answers = [Answer(("hello",), ("first", ("second, cut", "length")))]
    with FakeOpenAIServer(answers, fail_first=(429, 503)) as server:
        client = _client(server.base_url)
        done = client.chat([{"role": "user", "content": "hello there"}], n=3, temperature=0.5)
        assert done.texts == ("first", "second, cut", "first")
        assert done.finish_reasons == ("stop", "length", "stop")
        assert client.retried == 2 and client.requests_sent == 3
        assert done.usage.prompt_tokens == len("hello there") // 4
        assert done.usage.completion_tokens == sum(len(t) // 4 for t in done.texts)
        assert client.usage == done.usage
        body = server.bodies[-1]
        assert body["n"] == 3 and body["temperature"] == 0.5 and body["model"] == "fake-prover"
        client.close()


def test_a_hang_past_the_timeout_is_retried_then_one_sentence() -> None:
    with FakeOpenAIServer(hang_first=5, hang_s=3.0) as server:
        client = _client(server.base_url, timeout_s=0.2, retries=1)
        t0 = time.monotonic()
        with pytest.raises(EndpointError, match=r"did not answer within 0.2 s \(after 2 tries\)"):
            client.complete("x")
        assert time.monotonic() - t0 < 2.0  # bounded by the timeout, not by the hang
        client.close()


def test_unreachable_refused_and_bad_requests_are_named() -> None:
    client = _client(f"http://127.0.0.1:{_free_port()}/v1", retries=0)
    with pytest.raises(EndpointError, match="cannot reach"):
        client.chat([{"role": "user", "content": "x"}])
    with pytest.raises(EndpointError, match="cannot reach"):
        client.preflight()
    with FakeOpenAIServer(refuse_with=401) as server, pytest.raises(EndpointConfigError, match="API key"):
        _client(server.base_url).preflight()
    with (
        FakeOpenAIServer(served=("other",)) as server,
        pytest.raises(EndpointConfigError, match="does not serve model 'fake-prover'.*other"),
    ):
        _client(server.base_url).preflight()
    with FakeOpenAIServer(fail_first=(400,)) as server, pytest.raises(EndpointConfigError, match="HTTP 400"):
        _client(server.base_url).chat([{"role": "user", "content": "x"}])


def test_a_server_ignoring_n_is_asked_again_for_the_rest() -> None:
    class OneChoice(FakeOpenAIServer):
        def choices(self, text: str, n: int) -> list[tuple[str, str]]:
            return super().choices(text, 1)

    with OneChoice([Answer((), ("a", "b", "c"))]) as server:
        client = _client(server.base_url)
        assert client.complete("p", n=3).texts == ("a", "b", "c")
        assert [b["n"] for b in server.bodies] == [3, 2, 1]


def test_map_respects_the_concurrency_limit() -> None:
    in_flight, peak, lock = [0], [0], threading.Lock()

    class Slow(FakeOpenAIServer):
        def choices(self, text: str, n: int) -> list[tuple[str, str]]:
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            time.sleep(0.05)
            with lock:
                in_flight[0] -= 1
            return [("ok", "stop")] * n

    with Slow() as server:
        client = _client(server.base_url, max_concurrency=3)
        out = client.map(lambda i: client.complete(f"p{i}").texts[0], range(12))
        assert out == ["ok"] * 12 and peak[0] == 3
        client.close()


def test_the_generator_preflight_stops_before_any_request() -> None:
    with FakeOpenAIServer(served=("someone-else",)) as server:
        with pytest.raises(EndpointConfigError, match="does not serve model 'fake-prover'"):
            make_generator({"name": "openai", "base_url": server.base_url, "model": "fake-prover"})
        assert server.bodies == []
    with pytest.raises(GeneratorConfigError, match="generator.model"):
        make_generator({"name": "openai", "base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(GeneratorConfigError, match="generator.profile"):
        make_generator({"name": "openai", "model": "m", "profile": "gpt5", "preflight": False})


def test_tactic_profile_generates_distinct_tactics_scored_by_share() -> None:
    answers = [Answer(("⊢ n + 0 = n:::",), (" simp\n", "omega:::", " simp", "rfl"))]
    with FakeOpenAIServer(answers) as server:
        gen = make_generator(
            {"name": "openai", "base_url": server.base_url, "model": "fake-prover", "profile": "bfs_prover"}
        )
        out = gen.generate([GenerationRequest(goals=("n : ℕ\n⊢ n + 0 = n",))], 4)[0]
        assert [s.tactic for s in out] == ["simp", "omega", "rfl"]
        assert out[0].logprob == pytest.approx(-0.6931, abs=1e-3)  # 2 of 4 choices
        assert server.bodies[0]["prompt"] == "n : ℕ\n⊢ n + 0 = n:::" and ":::" in server.bodies[0]["stop"]
        gen.close()


def test_repair_turn_continues_the_failed_samples_conversation() -> None:
    wrong = "```lean4\nimport Mathlib\ntheorem t_add (n : ℕ) : n + 0 = n := by\n  decide\n```"
    right = "<think>use simp</think>\n```lean4\nimport Mathlib\ntheorem t_add (n : ℕ) : n + 0 = n := by\n  simp\n```"
    answers = [Answer(("is not correct",), (right,)), Answer(("t_add",), (wrong,))]
    with FakeOpenAIServer(answers) as server:
        gen = OpenAIGenerator(OpenAISettings(base_url=server.base_url, model="fake-prover", profile="kimina"))
        first = gen.sample_proofs(THEOREM, 2)
        assert [s.proof for s in first.samples] == ["decide", "decide"] and first.completion_tokens > 0
        compiled = "theorem t_add (n : ℕ) : n + 0 = n := by\n  decide"
        verdict = Verdict(
            False, ("x",), "compile", (LeanDiagnostic(2, 2, 2, 8, "failed to synthesize"),), compiled
        )
        fixed = gen.repair_proofs(THEOREM, 0, [(first.samples[0], verdict)], [3])
        assert [s.proof for s in fixed.samples] == ["simp"] * 3 and len(fixed.groups) == 1
        messages = server.bodies[-1]["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[2]["content"] == wrong and "failed to synthesize" in messages[3]["content"]
        assert fixed.samples[0].messages == tuple(messages)  # the next round continues this conversation
        gen.close()


def test_synthesis_uses_the_same_client() -> None:
    from prover.synthesis.llm import LLMConfigError, LLMError, OpenAIChat
    from prover.synthesis.settings import LLMSettings

    with FakeOpenAIServer([Answer(("concept",), ("a theorem",))], fail_first=(429,)) as server:
        chat = OpenAIChat(LLMSettings(model="fake-prover", base_url=server.base_url, retries=2))
        assert isinstance(chat._client, OpenAIClient)
        assert chat.chat([{"role": "user", "content": "a concept"}]) == "a theorem"
        assert chat.usage.completion_tokens == len("a theorem") // 4
    with FakeOpenAIServer(served=("x",)) as server, pytest.raises(LLMConfigError):
        OpenAIChat(LLMSettings(model="fake-prover", base_url=server.base_url)).preflight()
    with pytest.raises(LLMError, match="cannot reach"):
        OpenAIChat(LLMSettings(model="m", base_url=f"http://127.0.0.1:{_free_port()}/v1", retries=0)).chat([])


def test_the_api_key_goes_in_a_header_and_nowhere_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PROVER_KEY", "sk-secret-123")
    seen: list[str] = []

    class KeyCheck(FakeOpenAIServer):
        def choices(self, text: str, n: int) -> list[tuple[str, str]]:
            return [("ok", "stop")] * n

    with KeyCheck() as server:
        settings = OpenAISettings(base_url=server.base_url, model="fake-prover", api_key_env="MY_PROVER_KEY")
        gen = OpenAIGenerator(settings)
        gen.generate([GenerationRequest(goals=("⊢ True",))], 1)
        assert server.authorizations and set(server.authorizations) == {"Bearer sk-secret-123"}
        seen.append(repr(gen.client.settings))
        seen.append(settings.model_dump_json())
        gen.close()
    assert not any("sk-secret" in s for s in seen)


def test_a_keep_alive_connection_the_server_dropped_is_reopened_without_a_retry() -> None:
    with FakeOpenAIServer([Answer((), ("ok",))], drop_connections=True) as server:
        client = _client(server.base_url, retries=0)
        texts = [client.complete(f"p{i}").texts for i in range(4)]
        assert texts == [("ok",)] * 4 and len(server.bodies) == 4
        assert client.retried == 0 and client.requests_sent == 4
        client.close()


def test_a_server_dying_mid_request_and_a_bad_url_are_one_sentence() -> None:
    class Garbage(FakeOpenAIServer):
        def choices(self, text: str, n: int) -> list[tuple[str, str]]:
            raise RuntimeError("boom")  # the handler dies: the connection closes without a reply

    with (
        Garbage() as server,
        pytest.raises(EndpointError, match=r"cannot reach .*RemoteDisconnected \(after 1 tries\)"),
    ):
        _client(server.base_url, retries=0).complete("p")
    with pytest.raises(EndpointConfigError, match="base_url must start with http"):
        _client("ftp://127.0.0.1/v1")


def test_find_the_answer_samples_carry_the_models_hole_definition() -> None:
    header = "import Mathlib\n\nopen Real\n\nabbrev p_solution : Set ℝ := sorry\n"
    theorem = Theorem("p", "theorem p (x : ℝ) : x ^ 2 = x ↔ x ∈ p_solution", header)
    answer = (
        "<think>Try {0, 1}.\n```lean4\nabbrev p_solution : Set ℝ := {0}\n```</think>\n```lean4\nimport Mathlib\n\n"
        "abbrev p_solution : Set ℝ := {x : ℝ | x = 0 ∨\n  x = 1}\n\n"
        "theorem p (x : ℝ) : x ^ 2 = x ↔ x ∈ p_solution := by\n  constructor\n  · intro h\n    simp\n```"
    )
    no_definition = "```lean4\ntheorem p (x : ℝ) : x ^ 2 = x ↔ x ∈ p_solution := by\n  simp\n```"
    with FakeOpenAIServer([Answer(("p_solution",), (answer, no_definition))]) as server:
        gen = OpenAIGenerator(
            OpenAISettings(base_url=server.base_url, model="fake-prover", profile="goedel_v2")
        )
        found, missing = gen.sample_proofs(theorem, 2).samples
        gen.close()
    # the definition from the final block (not the one inside the reasoning), then the dataset's declaration
    assert found.proof == (
        "abbrev p_solution : Set ℝ := {x : ℝ | x = 0 ∨\n  x = 1}\n\n"
        "theorem p (x : ℝ) : x ^ 2 = x ↔ x ∈ p_solution := by\n  constructor\n  · intro h\n    simp"
    )
    assert missing.proof is None  # a proof that leaves the hole undefined is no answer
    # the prompt shows the hole as `sorry`, under the standard header
    shown = server.bodies[0]["messages"][0]["content"]
    assert "abbrev p_solution : Set ℝ := sorry" in shown and "set_option maxHeartbeats 0" in shown


def test_deepseek_non_cot_samples_are_raw_completions_continuing_after_by() -> None:
    answers = [Answer((":= by",), ("\n  intro\n  simp\n```", ("\n  nlinarith [sq_nonneg", "length")))]
    with FakeOpenAIServer(answers) as server:
        gen = OpenAIGenerator(
            OpenAISettings(base_url=server.base_url, model="fake-prover", profile="deepseek_v2")
        )
        assert not gen.can_repair  # no conversation to continue
        batch = gen.sample_proofs(THEOREM, 2)
        gen.close()
    body = server.bodies[0]
    assert "messages" not in body and body["prompt"].endswith("theorem t_add (n : ℕ) : n + 0 = n := by")
    assert body["stop"] == ["```"] and body["n"] == 2 and body["temperature"] == 1.0
    first, cut = batch.samples
    assert first.proof == "intro\nsimp" and cut.finish_reason == "length" and cut.proof is None


def test_an_http_proxy_from_the_environment_is_used_and_no_proxy_skips_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the fake server stands in for the proxy: it answers the absolute URL it is sent
    with FakeOpenAIServer([Answer((), ("via proxy",))]) as proxy:
        monkeypatch.setenv(
            "http_proxy", f"http://user:pw@{proxy.base_url.split('//')[1].removesuffix('/v1')}"
        )
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        client = _client("http://model-server.invalid:8000/v1", retries=0)
        assert client.complete("p").texts == ("via proxy",)
        assert proxy.authorizations == [""]  # the API key header only, none set here
        ((target, headers),) = proxy.requests_seen
        assert target == "http://model-server.invalid:8000/v1/completions"
        assert headers["Proxy-Authorization"] == "Basic dXNlcjpwdw=="  # user:pw
        client.close()
        monkeypatch.setenv("no_proxy", "model-server.invalid")
        with pytest.raises(EndpointError, match="cannot reach"):
            _client("http://model-server.invalid:8000/v1", retries=0).complete("p")
