"""Optional vLLM backend for causal tactic models (GPU throughput); used only where ``import vllm`` works.

Same prompts and tactic extraction as ``prover.generation.hf``; log-probabilities are vLLM's cumulative
log-probabilities of the sampled tokens (the sum of token logprobs, like the transformers backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.hf import ModelLoadError, resolve_model
from prover.generation.inputs import check_k, check_requests
from prover.generation.prompts import get_template
from prover.generation.settings import VllmSettings

_DEFAULTS = VllmSettings()


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except Exception:  # vllm raises various errors when its CUDA deps are absent
        return False
    return True


class VllmTacticGenerator(TacticGenerator):
    """Samples ``num_samples`` continuations per state with vLLM and keeps the ``k`` best distinct tactics."""

    def __init__(
        self,
        model: str,
        prompt_template: str = _DEFAULTS.prompt_template,
        temperature: float = _DEFAULTS.temperature,
        top_p: float = _DEFAULTS.top_p,
        max_new_tokens: int = _DEFAULTS.max_new_tokens,
        num_samples: int = _DEFAULTS.num_samples,
        gpu_memory_utilization: float = _DEFAULTS.gpu_memory_utilization,
        max_state_chars: int = _DEFAULTS.max_state_chars,
        **engine_args: Any,
    ) -> None:
        if not vllm_available():
            raise ModelLoadError(
                "generator 'vllm' needs the vllm package with a working GPU install "
                "(pip install 'lean-prover[vllm]'); use generator=hf otherwise"
            )
        from vllm import LLM

        self.template = get_template(prompt_template)
        self.llm = LLM(
            model=resolve_model(model), gpu_memory_utilization=gpu_memory_utilization, **engine_args
        )
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.num_samples = num_samples
        self.max_state_chars = max_state_chars

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        from vllm import SamplingParams

        requests = check_requests(requests, self.max_state_chars)
        check_k(k)
        params = SamplingParams(
            n=self.num_samples or k,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_new_tokens,
            logprobs=0,
        )
        outputs = self.llm.generate([self.template.format(r) for r in requests], params, use_tqdm=False)
        results = []
        for out in outputs:
            cands = []
            for completion in out.outputs:
                tactic = self.template.extract_tactic(completion.text)
                if tactic and completion.cumulative_logprob is not None:
                    cands.append(Suggestion(float(completion.cumulative_logprob), tactic))
            results.append(dedupe_best(cands, k))
        return results
