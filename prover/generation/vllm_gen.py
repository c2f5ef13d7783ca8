"""Optional vLLM backend for causal tactic models (GPU throughput); used only where ``import vllm`` works.

Same prompts and tactic extraction as ``prover.generation.hf``; log-probabilities are vLLM's cumulative
log-probabilities of the sampled tokens (the sum of token logprobs, like the transformers backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.generation.base import Suggestion, TacticGenerator, dedupe_best
from prover.generation.hf import ModelLoadError, resolve_model
from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS, check_k, check_states
from prover.generation.prompts import get_template


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
        prompt_template: str = "bfs_prover",
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 128,
        num_samples: int = 0,
        gpu_memory_utilization: float = 0.85,
        max_state_chars: int = DEFAULT_MAX_STATE_CHARS,
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

    def generate(self, states: Sequence[str], k: int) -> list[list[Suggestion]]:
        from vllm import SamplingParams

        states = check_states(states, self.max_state_chars)
        check_k(k)
        params = SamplingParams(
            n=self.num_samples or k,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_new_tokens,
            logprobs=0,
        )
        outputs = self.llm.generate([self.template.format(s) for s in states], params, use_tqdm=False)
        results = []
        for out in outputs:
            cands = []
            for completion in out.outputs:
                tactic = self.template.extract_tactic(completion.text)
                if tactic and completion.cumulative_logprob is not None:
                    cands.append(Suggestion(float(completion.cumulative_logprob), tactic))
            results.append(dedupe_best(cands, k))
        return results
