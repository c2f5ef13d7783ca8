"""``generator=openai``: tactics and whole proofs from any OpenAI-compatible server, by named prompt profile.

Two faces on one object:

* the generator seam (``generate(requests, k)``) — tactic profiles (``bfs_prover``) render the state with their
  prompt template and read one tactic per choice; whole-proof profiles read the request's theorem and return
  extracted proof scripts. A server gives no sequence log-probability through ``/chat/completions`` on every
  backend, so a suggestion's ``logprob`` is the log of its share among the ``k`` choices drawn (an estimate of
  the model's probability of that tactic, comparable along a search);
* the whole-proof sampler (``sample_proofs`` / ``repair_proofs``) that ``prover.search.whole_proof`` uses for
  repair rounds: a failed sample's Lean errors become the next user turn of *its* conversation, formatted by
  the profile (Goedel's ``<error>`` marks, Kimina's goal + message + numbered snippet).

Every request goes through :class:`~prover.generation.openai_client.OpenAIClient` (retries, timeout,
concurrency limit, token accounting); the preflight runs when the generator is built, before a run writes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.inputs import check_k, check_requests
from prover.generation.openai_client import Completion, EndpointSettings, OpenAIClient
from prover.generation.profiles import (
    Message,
    Profile,
    ProofSample,
    SampleBatch,
    definition_holes,
    get_profile,
    hole_definitions,
    prompt_theorem,
    with_hole_definitions,
    with_sampling,
)
from prover.generation.settings import GeneratorConfigError, OpenAISettings
from prover.lean.types import Theorem, Verdict


def endpoint_settings(settings: OpenAISettings) -> EndpointSettings:
    return EndpointSettings(
        base_url=settings.base_url,
        model=settings.model,
        api_key_env=settings.api_key_env,
        timeout_s=settings.timeout_s,
        retries=settings.retries,
        backoff_s=settings.backoff_s,
        max_concurrency=settings.max_concurrency,
    )


class OpenAIGenerator(TacticGenerator):
    """Tactics or whole proofs from an OpenAI-compatible server (see the module doc)."""

    def __init__(self, settings: OpenAISettings, client: OpenAIClient | None = None) -> None:
        if not settings.model.strip():
            raise GeneratorConfigError(
                "generator=openai needs generator.model (the model name the server serves)"
            )
        self.settings = settings
        self.profile: Profile = with_sampling(
            get_profile(settings.profile),
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_tokens,
        )
        self.client = client or OpenAIClient(endpoint_settings(settings))
        if settings.preflight:
            try:
                self.client.preflight()
            except Exception:
                self.client.close()
                raise

    # -- sampling ------------------------------------------------------------------------------------
    def _params(self) -> dict[str, object]:
        p = self.profile
        return {
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_tokens,
            "stop": list(p.stop) or None,
        }

    def _ask(self, messages: Sequence[Message], prompt: str, n: int) -> Completion:
        if self.profile.api == "completions":
            return self.client.complete(prompt, n=n, **self._params())
        return self.client.chat(messages, n=n, **self._params())

    @property
    def can_repair(self) -> bool:
        """Repair turns need a conversation (chat) and the profile's error-feedback format."""
        return self.profile.api == "chat" and self.profile.repair is not None

    def sample_proofs(self, theorem: Theorem, n: int) -> SampleBatch:
        """``n`` whole proofs of ``theorem`` from the profile's opening prompt (one request, ``n`` choices)."""
        check_k(n)
        p = self.profile
        shown = prompt_theorem(theorem, self.settings.prompt_header)
        messages = tuple(p.messages(shown)) if p.api == "chat" else ()
        prompt = p.prompt(shown) if p.api == "completions" else ""
        done = self._ask(messages, prompt, n)
        return SampleBatch((self._samples(done, messages, theorem),), *_tokens(done))

    def repair_proofs(
        self,
        theorem: Theorem,
        round_no: int,
        failures: Sequence[tuple[ProofSample, Verdict]],
        n: int | Sequence[int] = 1,
    ) -> SampleBatch:
        """For each failed ``(sample, verdict)``, ``n`` (or ``n[i]``) answers to the repair turn built from its
        Lean errors.

        ``round_no`` is the round the failed answer came from (Goedel's ``Round {k-1}``). The requests run
        concurrently under the client's limit; groups come back in the order of ``failures``.
        """
        if not self.can_repair:
            raise GeneratorConfigError(
                f"profile {self.profile.name} has no repair turn (chat + error format)"
            )
        counts = [n] * len(failures) if isinstance(n, int) else list(n)
        if len(counts) != len(failures):
            raise GeneratorConfigError("repair_proofs needs one count per failed sample")
        for count in counts:
            check_k(count)
        repair = self.profile.repair
        assert repair is not None
        shown = prompt_theorem(theorem, self.settings.prompt_header)

        def one(item: tuple[ProofSample, Verdict, int]) -> tuple[tuple[ProofSample, ...], Completion]:
            sample, verdict, n = item
            turn = repair(round_no, shown, verdict.compiled, verdict.diagnostics)
            messages = (
                *sample.messages,
                {"role": "assistant", "content": sample.text},
                {"role": "user", "content": turn},
            )
            done = self._ask(messages, "", n)
            return self._samples(done, messages, theorem), done

        results = self.client.map(one, [(smp, v, c) for (smp, v), c in zip(failures, counts, strict=True)])
        prompt_tokens = sum(_tokens(done)[0] for _, done in results)
        completion_tokens = sum(_tokens(done)[1] for _, done in results)
        return SampleBatch(tuple(group for group, _ in results), prompt_tokens, completion_tokens)

    def _samples(
        self, done: Completion, messages: tuple[Message, ...], theorem: Theorem
    ) -> tuple[ProofSample, ...]:
        extract = self.profile.extract
        assert extract is not None
        holes = definition_holes(theorem)

        def proof_of(text: str) -> str | None:
            script = extract(text, theorem)
            if script is None or not holes:
                return script
            # "find the answer": the model's definition of every hole comes with the proof, or there is none
            definitions = hole_definitions(text, holes)
            return None if definitions is None else with_hole_definitions(theorem, definitions, script)

        reasons = done.finish_reasons or ("",) * len(done.texts)
        # a raw continuation cut by max_tokens is a proof cut mid-way (chat answers need a closed block anyway)
        cut_is_empty = self.profile.api == "completions"
        return tuple(
            ProofSample(
                text, None if cut_is_empty and reason == "length" else proof_of(text), reason, messages
            )
            for text, reason in zip(done.texts, reasons, strict=False)
        )

    # -- the generator seam --------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        requests = check_requests(requests, self.settings.max_state_chars)
        check_k(k)
        if self.profile.mode == "tactic":
            return self.client.map(lambda r: self._tactics(r, k), requests)
        return self.client.map(lambda r: self._whole_proofs(r, k), requests)

    def _tactics(self, request: GenerationRequest, k: int) -> list[Suggestion]:
        prompt = self.profile.tactic_prompt(request)
        if self.profile.api == "completions":
            done = self.client.complete(prompt, n=k, **self._params())
        else:
            done = self.client.chat([{"role": "user", "content": prompt}], n=k, **self._params())
        return _by_frequency([self.profile.extract_tactic(t) for t in done.texts], k)

    def _whole_proofs(self, request: GenerationRequest, k: int) -> list[Suggestion]:
        theorem = Theorem(request.theorem_name or "current_goal", request.statement, request.header)
        batch = self.sample_proofs(theorem, k)
        return _by_frequency([s.proof or "" for s in batch.samples], k)

    def close(self) -> None:
        self.client.close()


def _tokens(done: Completion) -> tuple[int, int]:
    return done.usage.prompt_tokens, done.usage.completion_tokens


def _by_frequency(texts: Sequence[str], k: int) -> list[Suggestion]:
    """Distinct non-empty texts scored by ``log(count / drawn)``, best first."""
    drawn = max(len(texts), 1)
    counts = Counter(" ".join(t.split()) for t in texts if t.strip())
    first = {}
    for t in texts:
        key = " ".join(t.split())
        if t.strip() and key not in first:
            first[key] = t.strip()
    return dedupe_best([Suggestion(math.log(c / drawn), first[key]) for key, c in counts.items()], k)
